// The Kotlin conformance runner: `cargo xtask conformance kotlin [FILE...]`.
//
// Walks every vector of the given files through the generated Kotlin bindings, prints each failing
// case with a line diff and ends with `N passed, M failed`; exits 1 on any failure, 2 when a file
// cannot be read.
package apig.tests

import apig.ApigException
import apig.Header
import apig.Profile
import apig.Request
import apig.Signer
import apig.SignerOptions
import apig.Verifier
import apig.parseAlgorithm
import java.io.File
import java.time.LocalDateTime
import java.time.ZoneOffset
import java.time.format.DateTimeFormatter
import java.util.Base64
import kotlin.system.exitProcess

private val SDK_DATE: DateTimeFormatter = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'")

fun main(args: Array<String>) {
    if (args.isEmpty()) {
        System.err.println("usage: Conformance FILE...  (cargo xtask conformance kotlin passes conformance/*.json)")
        exitProcess(2)
    }
    var passed = 0
    var failed = 0
    for (path in args) {
        val file = File(path)
        val vectors = try {
            Json.parse(file.readText()) as? List<*> ?: throw JsonError("the top level is not an array")
        } catch (e: Exception) {
            System.err.println("$path: $e")
            exitProcess(2)
        }
        for (raw in vectors) {
            val vector = raw as? Map<*, *>
            val name = vector?.get("name") as? String ?: "(unnamed)"
            val diff = try {
                when {
                    vector == null -> "  not an object"
                    vector.containsKey("expected") -> runSign(vector)
                    vector.containsKey("expected_verdict") -> runVerify(vector)
                    else -> "  neither a sign nor a verify vector"
                }
            } catch (e: Exception) {
                "  unexpected ${e.javaClass.name}: $e"
            }
            if (diff.isEmpty()) {
                passed++
            } else {
                failed++
                println("FAIL ${file.name} :: $name\n$diff")
            }
        }
    }
    println("$passed passed, $failed failed")
    exitProcess(if (failed == 0) 0 else 1)
}

private fun request(vector: Map<*, *>): Request {
    val r = vector["request"] as Map<*, *>
    val headers = (r["headers"] as? List<*>).orEmpty().map { pair ->
        val (name, value) = pair as List<*>
        Header(name as String, value as String)
    }
    val body = when {
        r["body_base64"] is String -> Base64.getDecoder().decode(r["body_base64"] as String)
        r["body"] is String -> (r["body"] as String).toByteArray(Charsets.UTF_8)
        else -> byteArrayOf()
    }
    return Request(r["method"] as String, r["url"] as String, headers, body)
}

/**
 * The v3 fields (conformance/README.md) as [SignerOptions]: a vector with a `credential_type` is
 * Huawei Cloud's v3 SDKs', signed with the `HuaweiCloudV3` profile; `null` for other vectors. A
 * field this runner cannot pass fails the case.
 */
private fun credentialOptions(vector: Map<*, *>): SignerOptions? {
    val kind = vector["credential_type"]
    if (kind == null) {
        require(listOf("security_token", "project_id", "domain_id").none { vector.containsKey(it) }) {
            "credential fields without a credential_type"
        }
        return null
    }
    require(kind == "basic" || kind == "global") { "unknown credential_type $kind" }
    return SignerOptions(
        securityToken = vector["security_token"] as? String,
        projectId = if (kind == "basic") vector["project_id"] as? String else null,
        domainId = if (kind == "global") vector["domain_id"] as? String else null,
        profile = Profile.HUAWEI_CLOUD_V3,
    )
}

private fun runSign(vector: Map<*, *>): String {
    val out = try {
        val signer = Signer(
            vector["key"] as String,
            vector["secret"] as String,
            (vector["algorithm"] as? String)?.let { parseAlgorithm(it) },
            vector["region_id"] as? String,
            vector["service"] as? String,
            credentialOptions(vector),
        )
        signer.sign(request(vector))
    } catch (e: ApigException) {
        return "  signing failed: $e"
    } catch (e: IllegalArgumentException) {
        return "  bad vector: ${e.message}"
    }
    val expected = vector["expected"] as Map<*, *>
    val diff = StringBuilder()
    compare("canonical_request", expected["canonical_request"] as String, out.canonicalRequest, diff)
    compare("string_to_sign", expected["string_to_sign"] as String, out.stringToSign, diff)
    compare("signature", expected["signature"] as String, out.signature, diff)
    compare("authorization", expected["authorization"] as String, out.authorization, diff)
    (expected["signed_headers"] as? String)?.let { compare("signed_headers", it, out.signedHeaders, diff) }
    (expected["headers_added"] as? List<*>)?.let { names ->
        val atSigning = (expected["headers_at_signing"] as? List<*>).orEmpty()
            .associate { pair -> (pair as List<*>)[0] as String to pair[1] as String }
        val want = names.joinToString("") { "$it: ${atSigning[it]}\n" }
        val got = out.headers.filter { it.name != "Authorization" }.joinToString("") { "${it.name}: ${it.value}\n" }
        compare("headers_added", want, got, diff)
    }
    return diff.toString()
}

private fun runVerify(vector: Map<*, *>): String {
    val keys = (vector["key_store"] as Map<*, *>).entries.associate { (k, v) -> k as String to v as String }
    val now = LocalDateTime.parse(vector["now"] as String, SDK_DATE).toInstant(ZoneOffset.UTC)
    val expectedVerdict = vector["expected_verdict"] as String
    val expectedError = vector["expected_error"] as? String
    val error = try {
        Verifier(keys).verify(request(vector), now)
        null
    } catch (e: ApigException) {
        e
    }
    val verdict = if (error == null) "accept" else "reject"
    if (verdict != expectedVerdict) {
        return "  verdict: expected $expectedVerdict, got $verdict" + (error?.let { " ($it)" } ?: "")
    }
    if (expectedError != null && error != null && error.code() != expectedError) {
        return "  error code: expected $expectedError, got ${error.code()}"
    }
    return ""
}

/** Appends a line diff of field `what` to `out` when `expected` and `actual` differ. */
fun compare(what: String, expected: String, actual: String, out: StringBuilder) {
    if (expected == actual) return
    out.append("  $what differs:\n")
    val e = expected.split('\n')
    val a = actual.split('\n')
    for (i in 0 until maxOf(e.size, a.size)) {
        val x = e.getOrNull(i)
        val y = a.getOrNull(i)
        if (x != null && x == y) {
            out.append("      ${quote(x)}\n")
        } else {
            if (x != null) out.append("    - ${quote(x)}\n")
            if (y != null) out.append("    + ${quote(y)}\n")
        }
    }
}

private fun quote(s: String) = "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\t", "\\t").replace("\r", "\\r") + "\""
