// Tests of the generated Kotlin bindings on the JVM (`cargo xtask test kotlin`).
// Each test drives the library through its public Kotlin API; expected values come from the inputs
// (round trips, the JDK's own date formatting), never from a second implementation of the algorithm.
package apig.tests

import apig.Algorithm
import apig.ApigException
import apig.Header
import apig.KeyStore
import apig.Profile
import apig.Request
import apig.SignedRequest
import apig.Signer
import apig.SignerOptions
import apig.Verifier
import apig.VerifyPolicy
import apig.parseAlgorithm
import java.time.Instant
import java.time.ZoneOffset
import java.time.format.DateTimeFormatter
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import kotlin.system.exitProcess

private const val AK = "4f5f626b-073f-402f-a1e0-e52171c6100c"
private const val SK = "e1d9a1c1-1f7a-4b1e-b3f0-2a7e0a1b9c4d"
private val AT: Instant = Instant.parse("2024-04-03T10:15:00Z")
private val SDK_DATE: DateTimeFormatter = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC)

private var passed = 0
private var failed = 0

private fun test(name: String, body: () -> Unit) {
    try {
        body()
        passed++
        println("ok   $name")
    } catch (e: Throwable) {
        failed++
        println("FAIL $name\n  $e")
    }
}

private fun check(condition: Boolean, message: () -> String) {
    if (!condition) throw AssertionError(message())
}

private fun <T> checkEq(expected: T, actual: T, what: String) =
    check(expected == actual) { "$what: expected <$expected>, got <$actual>" }

/** Runs `block`, which must throw an ApigException of class `E` whose code is `code`. */
private inline fun <reified E : ApigException> expectError(code: String, block: () -> Unit): E {
    try {
        block()
    } catch (e: ApigException) {
        check(e is E) { "expected ${E::class.simpleName}, got ${e.javaClass.simpleName}: $e" }
        checkEq(code, e.code(), "code")
        return e as E
    }
    throw AssertionError("expected ${E::class.simpleName} ($code), nothing was thrown")
}

/** The request as sent: the original headers plus the ones signing added. */
private fun signedCopy(request: Request, signed: SignedRequest) = request.copy(headers = request.headers + signed.headers)

private fun postRequest() = Request(
    method = "POST",
    url = "https://api.example.com/v1/items?limit=10&b=a%20b",
    headers = listOf(Header("Content-Type", "application/json")),
    body = """{"name":"apig"}""".toByteArray(),
)

private fun snakeCase(name: String) = name.replace(Regex("([a-z0-9])([A-Z])"), "$1_$2").lowercase()

fun main() {
    test("every error variant carries its own stable code") {
        // (the providers' error, ApigException.Credentials, carries its code: CredentialsTest.kt)
        val variants = ApigException::class.java.declaredClasses
            .filter { ApigException::class.java.isAssignableFrom(it) && it != ApigException.Credentials::class.java }
        checkEq(18, variants.size, "variants")
        val codes = HashSet<String>()
        for (variant in variants) {
            val constructor = variant.constructors.single()
            val args = constructor.parameterTypes.map { if (it == String::class.java) "because" else null }
            val error = constructor.newInstance(*args.toTypedArray()) as ApigException
            val code = error.code()
            checkEq(snakeCase(variant.simpleName), code, "code of ${variant.simpleName}")
            check(codes.add(code)) { "duplicate code $code" }
            checkEq("because", error.reason(), "reason of ${variant.simpleName}")
            checkEq("$code: because", error.toString(), "toString of ${variant.simpleName}")
        }
    }

    test("sign then verify, every algorithm") {
        for (algorithm in Algorithm.values()) {
            val v11 = algorithm == Algorithm.V11_HMAC_SHA256 || algorithm == Algorithm.V11_HMAC_SM3
            val signer = Signer(AK, SK, algorithm, if (v11) "cn-north-4" else null)
            checkEq(algorithm, signer.algorithm(), "algorithm")
            checkEq(AK, signer.accessKey(), "access key")
            val request = postRequest()
            val signed = signer.sign(request, AT)
            checkEq(SDK_DATE.format(AT), signed.date, "date")
            checkEq(if (v11) "${signed.date.take(8)}/cn-north-4/apic" else null, signed.credentialScope, "scope")
            val credential = if (v11) "Credential=$AK/${signed.credentialScope}" else "Access=$AK"
            check(signed.authorization.startsWith("${algorithm.token()} $credential, ")) { signed.authorization }
            check(signed.authorization.endsWith("Signature=${signed.signature}")) { signed.authorization }
            check(signed.stringToSign.startsWith(algorithm.token() + "\n" + signed.date + "\n")) { signed.stringToSign }
            val verified = Verifier(mapOf(AK to SK)).verify(signedCopy(request, signed), AT.plusSeconds(60))
            checkEq(AK, verified.accessKey, "access key")
            checkEq(algorithm, verified.algorithm, "algorithm")
            checkEq(signed.date, verified.date, "date")
            checkEq(signed.signedHeaders, verified.signedHeaders.joinToString(";"), "signed headers")
            checkEq(false, verified.unsignedPayload, "unsigned payload")
        }
    }

    test("signing adds Host, X-Sdk-Date and Authorization, in that order") {
        val request = postRequest()
        val signed = Signer(AK, SK).sign(request, AT)
        checkEq(listOf("Host", "X-Sdk-Date", "Authorization"), signed.headers.map { it.name }, "added headers")
        checkEq("api.example.com", signed.headers[0].value, "Host")
        checkEq(signed.date, signed.headers[1].value, "X-Sdk-Date")
        checkEq(signed.authorization, signed.headers[2].value, "Authorization")
        checkEq("content-type;host;x-sdk-date", signed.signedHeaders, "signed headers")
    }

    test("an X-Sdk-Date header wins over the time argument") {
        val request = postRequest().copy(headers = listOf(Header("X-Sdk-Date", "20191115T033655Z")))
        val signed = Signer(AK, SK).sign(request, AT)
        checkEq("20191115T033655Z", signed.date, "date")
        checkEq(listOf("Host", "Authorization"), signed.headers.map { it.name }, "added headers")
    }

    test("without a time argument the signer uses the system clock") {
        val before = Instant.now().minusSeconds(1)
        val signed = Signer(AK, SK).sign(postRequest())
        val date = java.time.LocalDateTime.parse(signed.date, SDK_DATE).toInstant(ZoneOffset.UTC)
        check(!date.isBefore(before) && !date.isAfter(Instant.now())) { "date ${signed.date} is not now" }
        Verifier(mapOf(AK to SK)).verify(signedCopy(postRequest(), signed))
    }

    test("a tampered body is a signature_mismatch carrying the verifier's trace") {
        val request = postRequest()
        val signed = Signer(AK, SK).sign(request, AT)
        val tampered = signedCopy(request, signed).copy(body = """{"name":"evil"}""".toByteArray())
        val e = expectError<ApigException.SignatureMismatch>("signature_mismatch") {
            Verifier(mapOf(AK to SK)).verify(tampered, AT)
        }
        val trace = e.trace ?: throw AssertionError("no trace")
        val mine = signed.canonicalRequest.split('\n')
        val theirs = trace.canonicalRequest.split('\n')
        checkEq(mine.dropLast(1), theirs.dropLast(1), "canonical request before the payload hash")
        check(mine.last() != theirs.last()) { "the payload hash lines should differ" }
    }

    test("a tampered query and a wrong secret are signature mismatches") {
        val request = postRequest()
        val sent = signedCopy(request, Signer(AK, SK).sign(request, AT))
        expectError<ApigException.SignatureMismatch>("signature_mismatch") {
            Verifier(mapOf(AK to SK)).verify(sent.copy(url = sent.url.replace("limit=10", "limit=11")), AT)
        }
        expectError<ApigException.SignatureMismatch>("signature_mismatch") {
            Verifier(mapOf(AK to "another-secret")).verify(sent, AT)
        }
    }

    test("expiry follows the policy's skew") {
        val request = postRequest()
        val sent = signedCopy(request, Signer(AK, SK).sign(request, AT))
        expectError<ApigException.Expired>("expired") {
            Verifier(mapOf(AK to SK)).verify(sent, AT.plusSeconds(16 * 60))
        }
        Verifier(mapOf(AK to SK), VerifyPolicy(maxSkewSeconds = 3600uL)).verify(sent, AT.plusSeconds(16 * 60))
        expectError<ApigException.Expired>("expired") {
            Verifier(mapOf(AK to SK), VerifyPolicy(maxSkewSeconds = 30uL)).verify(sent, AT.minusSeconds(31))
        }
    }

    test("hop-by-hop headers are not signed (the core's rule, as in every language)") {
        val request = postRequest()
        val hop = listOf(Header("Connection", "keep-alive"), Header("TRANSFER-ENCODING", "chunked"), Header("te", "trailers"))
        val plain = Signer(AK, SK).sign(request, AT)
        val signed = Signer(AK, SK).sign(request.copy(headers = hop + request.headers), AT)
        checkEq(plain.signedHeaders, signed.signedHeaders, "signed headers")
        checkEq(plain.signature, signed.signature, "signature")
        check(!signed.signedHeaders.contains("connection")) { signed.signedHeaders }
    }

    test("temporary credentials and service ids: SignerOptions adds and signs the headers") {
        val token = "gQpj+token/=="
        val options = SignerOptions(securityToken = token, projectId = "p1", profile = Profile.HUAWEI_CLOUD_V3)
        val request = Request("PUT", "https://h/o", listOf(Header("Content-Type", "text/plain")), "data".toByteArray())
        val signed = Signer(AK, SK, options = options).sign(request, AT)
        checkEq(
            listOf("X-Project-Id", "X-Security-Token", "Host", "X-Sdk-Date", "X-Sdk-Content-Sha256", "Authorization"),
            signed.headers.map { it.name },
            "added headers",
        )
        check(signed.headers.contains(Header("X-Security-Token", token))) { "${signed.headers}" }
        checkEq("content-type;host;x-project-id;x-sdk-content-sha256;x-sdk-date;x-security-token", signed.signedHeaders, "signed")
        checkEq(true, Verifier(mapOf(AK to SK)).verify(signedCopy(request, signed), AT).unsignedPayload, "unsigned payload")
        expectError<ApigException.InvalidConfig>("invalid_config") { Signer(AK, SK, options = SignerOptions(securityToken = " ")) }
        expectError<ApigException.DuplicateHeader>("duplicate_header") {
            Signer(AK, SK, options = options).sign(request.copy(headers = listOf(Header("X-Project-Id", "p2"))), AT)
        }
    }

    test("unsigned payload: signed, accepted by default, refused by policy") {
        val request = postRequest().copy(unsignedPayload = true)
        val signed = Signer(AK, SK).sign(request, AT)
        check(signed.headers.contains(Header("X-Sdk-Content-Sha256", "UNSIGNED-PAYLOAD"))) { "${signed.headers}" }
        check(signed.canonicalRequest.endsWith("\nUNSIGNED-PAYLOAD")) { signed.canonicalRequest }
        val sent = signedCopy(request, signed)
        val verified = Verifier(mapOf(AK to SK)).verify(sent, AT)
        checkEq(true, verified.unsignedPayload, "unsigned payload")
        expectError<ApigException.UnsignedPayloadNotAllowed>("unsigned_payload_not_allowed") {
            Verifier(mapOf(AK to SK), VerifyPolicy(allowUnsignedPayload = false)).verify(sent, AT)
        }
    }

    test("requireHost refuses a request whose host is not signed") {
        val request = Request("GET", "/v1/items", listOf(Header("X-Sdk-Date", "20240403T101500Z")))
        val sent = signedCopy(request, Signer(AK, SK).sign(request))
        Verifier(mapOf(AK to SK)).verify(sent, AT)
        expectError<ApigException.HostNotSigned>("host_not_signed") {
            Verifier(mapOf(AK to SK), VerifyPolicy(requireHost = true)).verify(sent, AT)
        }
    }

    test("allowedAlgorithms and the V11 scope policy") {
        val request = postRequest()
        val sm3 = signedCopy(request, Signer(AK, SK, Algorithm.SDK_HMAC_SM3).sign(request, AT))
        expectError<ApigException.UnsupportedAlgorithm>("unsupported_algorithm") {
            Verifier(mapOf(AK to SK), VerifyPolicy(allowedAlgorithms = listOf(Algorithm.SDK_HMAC_SHA256))).verify(sm3, AT)
        }
        val v11 = signedCopy(request, Signer(AK, SK, Algorithm.V11_HMAC_SHA256, "cn-north-4").sign(request, AT))
        Verifier(mapOf(AK to SK), VerifyPolicy(region = "cn-north-4", service = "apic")).verify(v11, AT)
        expectError<ApigException.CredentialScopeMismatch>("credential_scope_mismatch") {
            Verifier(mapOf(AK to SK), VerifyPolicy(region = "cn-south-1")).verify(v11, AT)
        }
    }

    test("a KeyStore implemented in Kotlin resolves the secrets") {
        val lookups = AtomicInteger()
        val store = object : KeyStore {
            override fun secret(accessKey: String): String? {
                lookups.incrementAndGet()
                return if (accessKey == AK) SK else null
            }
        }
        val verifier = Verifier.withKeyStore(store)
        val request = postRequest()
        verifier.verify(signedCopy(request, Signer(AK, SK).sign(request, AT)), AT)
        expectError<ApigException.UnknownAccessKey>("unknown_access_key") {
            verifier.verify(signedCopy(request, Signer("someone-else", SK).sign(request, AT)), AT)
        }
        checkEq(2, lookups.get(), "lookups")
    }

    test("a KeyStore that throws surfaces as InternalException, the JVM keeps running") {
        val failing = object : KeyStore {
            override fun secret(accessKey: String): String? = throw IllegalStateException("database down")
        }
        val request = postRequest()
        val sent = signedCopy(request, Signer(AK, SK).sign(request, AT))
        println("     (uniffi prints the Rust panic of the failed callback below: expected)")
        try {
            Verifier.withKeyStore(failing).verify(sent, AT)
            throw AssertionError("expected an exception")
        } catch (e: apig.InternalException) {
            // uniffi's report of a failed callback; not an ApigException
        }
        Verifier(mapOf(AK to SK)).verify(sent, AT)
    }

    test("the verifier's header checks") {
        val verifier = Verifier(mapOf(AK to SK))
        expectError<ApigException.MissingAuthorization>("missing_authorization") {
            verifier.verify(postRequest(), AT)
        }
        expectError<ApigException.UnsupportedAlgorithm>("unsupported_algorithm") {
            verifier.verify(postRequest().copy(headers = listOf(Header("Authorization", "Basic dXNlcjpwdw=="))), AT)
        }
        expectError<ApigException.MalformedAuthorization>("malformed_authorization") {
            verifier.verify(postRequest().copy(headers = listOf(Header("Authorization", "SDK-HMAC-SHA256 Access=$AK"))), AT)
        }
        val request = postRequest()
        val signed = Signer(AK, SK).sign(request, AT)
        val withoutDate = request.copy(headers = request.headers + signed.headers.filter { it.name != "X-Sdk-Date" })
        expectError<ApigException.MissingDate>("missing_date") { verifier.verify(withoutDate, AT) }
        val twoDates = signedCopy(request, signed).let { it.copy(headers = it.headers + Header("X-Sdk-Date", "20240403T101501Z")) }
        expectError<ApigException.DuplicateHeader>("duplicate_header") { verifier.verify(twoDates, AT) }
    }

    test("bad settings and bad requests are typed errors, not crashes") {
        expectError<ApigException.InvalidConfig>("invalid_config") { Signer("", SK) }
        expectError<ApigException.InvalidConfig>("invalid_config") { Signer(AK, "") }
        expectError<ApigException.InvalidConfig>("invalid_config") { Signer(AK, SK, Algorithm.V11_HMAC_SM3) }
        val signer = Signer(AK, SK)
        expectError<ApigException.InvalidRequest>("invalid_request") { signer.sign(Request("GET", "api.example.com/x")) }
        expectError<ApigException.InvalidRequest>("invalid_request") { signer.sign(Request("GET", "https://h/\r\nX: y")) }
        expectError<ApigException.MalformedDate>("malformed_date") {
            signer.sign(Request("GET", "https://h/", listOf(Header("X-Sdk-Date", "2024-04-03T10:15:00Z"))))
        }
    }

    test("algorithm tokens round trip through parseAlgorithm") {
        for (algorithm in Algorithm.values()) checkEq(algorithm, parseAlgorithm(algorithm.token()), algorithm.token())
        checkEq(listOf("SDK-HMAC-SHA256", "SDK-HMAC-SM3", "V11-HMAC-SHA256", "V11-HMAC-SM3"), Algorithm.values().map { it.token() }, "tokens")
        expectError<ApigException.UnsupportedAlgorithm>("unsupported_algorithm") { parseAlgorithm("HMAC-MD5") }
    }

    test("one Signer and one Verifier shared by 4 threads") {
        val signer = Signer(AK, SK)
        val verifier = Verifier(mapOf(AK to SK))
        val expected = signer.sign(postRequest(), AT).signature
        val pool = Executors.newFixedThreadPool(4)
        val results = (0 until 200).map {
            pool.submit<String> {
                val request = postRequest()
                val signed = signer.sign(request, AT)
                verifier.verify(signedCopy(request, signed), AT)
                signed.signature
            }
        }.map { it.get(30, TimeUnit.SECONDS) }
        pool.shutdown()
        checkEq(setOf(expected), results.toSet(), "signatures")
    }

    // sign and verify go through JNI (bindings/uniffi/src/jni.rs), every other call through JNA
    test("sign and verify (JNI) carry non-ASCII text, many headers and bodies of every size unchanged") {
        val signer = Signer(AK, SK)
        val verifier = Verifier(mapOf(AK to SK))
        val many = (0 until 40).map { Header("X-H$it", "välue $it ✓ \uD83D\uDE00") } // beyond the Rust side's stack
        for (size in listOf(0, 1, 4095, 4096, 70_000)) { // the argument buffer on the Rust stack and beyond
            val request = Request("PUT", "https://api.example.com/ü/%E2%9C%93?q=ÿ", many, ByteArray(size) { it.toByte() })
            val signed = signer.sign(request, AT)
            check(signed.canonicalRequest.contains("x-h7:välue 7 ✓ \uD83D\uDE00\n")) { signed.canonicalRequest }
            val verified = verifier.verify(signedCopy(request, signed), AT)
            checkEq(42, verified.signedHeaders.size, "signed headers of a $size-byte body")
        }
        // ASCII strings are copied straight into the thread's reused argument array; 40 long headers
        // make an answer longer than the reused answer array (4 KiB), 70,000 bytes arguments it does not keep
        val ascii = (0 until 40).map { Header("X-A$it", "value $it " + "v".repeat(120)) }
        for (size in listOf(70_000, 0, 4096, 1)) {
            val request = Request("PUT", "https://api.example.com/a/b?q=1", ascii, ByteArray(size) { it.toByte() })
            val signed = signer.sign(request, AT)
            check(signed.canonicalRequest.length > 4096 && signed.canonicalRequest.contains("x-a39:value 39 v")) { signed.canonicalRequest }
            checkEq(42, verifier.verify(signedCopy(request, signed), AT).signedHeaders.size, "signed headers of a $size-byte body")
            val small = Request("GET", "https://api.example.com/", listOf(Header("X-Name", "välue")))
            checkEq(signer.sign(small, AT), signer.sign(small, AT), "the same request signed twice, after a $size-byte body")
        }
    }

    test("a lone surrogate is refused before crossing, as by uniffi's other calls") {
        val lone = Request("GET", "https://api.example.com/", listOf(Header("X-Bad", "a\uD800b")))
        for ((what, call) in listOf<Pair<String, () -> Unit>>("sign" to { Signer(AK, SK).sign(lone, AT) }, "verify" to { Verifier(mapOf(AK to SK)).verify(lone, AT) })) {
            try {
                call()
                throw AssertionError("$what accepted a lone surrogate")
            } catch (e: java.nio.charset.CharacterCodingException) {
                // uniffi's strict UTF-8 encoder, as for every JNA call's strings
            }
        }
    }

    test("a closed Signer or Verifier refuses to sign or verify") {
        val signer = Signer(AK, SK)
        val verifier = Verifier(mapOf(AK to SK))
        val signed = signer.sign(postRequest(), AT)
        signer.close()
        verifier.close()
        for ((what, call) in listOf<Pair<String, () -> Unit>>("sign" to { signer.sign(postRequest(), AT) }, "verify" to { verifier.verify(signedCopy(postRequest(), signed), AT) })) {
            try {
                call()
                throw AssertionError("a closed object could $what")
            } catch (e: IllegalStateException) {
                check(e.message!!.contains("destroyed")) { e.toString() }
            }
        }
    }

    println("$passed passed, $failed failed")
    exitProcess(if (failed == 0) 0 else 1)
}
