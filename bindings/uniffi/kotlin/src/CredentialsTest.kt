// The credential providers and the OkHttp interceptor on the JVM (`cargo xtask test kotlin`).
// Argument: the base URL of a running apig-gateway whose echo API `/demo/echo` accepts the apps
// static-ak/static-sk and tmp-ak-N/tmp-sk-N (N = 1…3), which this file's metadata server issues
// (com.sun.net.httpserver on 127.0.0.1). xtask sets HUAWEICLOUD_SDK_AK=env-ak, _SK=env-secret,
// _SECURITY_TOKEN=env-token, _PROJECT_ID=env-project for the environment provider.
package apig.tests

import apig.ApigException
import apig.ChainProvider
import apig.Credentials
import apig.CredentialsProvider
import apig.EnvironmentProvider
import apig.MetadataProvider
import apig.ProfileProvider
import apig.Request
import apig.StaticProvider
import apig.Verifier
import apig.clockSkewFromApigMessage
import apig.okhttp.ApigInterceptor
import apig.okhttp.ApigSigningException
import com.sun.net.httpserver.HttpServer
import okhttp3.Interceptor
import okhttp3.MediaType
import okhttp3.OkHttpClient
import okhttp3.RequestBody
import okio.BufferedSink
import java.io.IOException
import java.net.InetSocketAddress
import java.time.Duration
import java.time.Instant
import java.time.format.DateTimeFormatter
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import kotlin.system.exitProcess

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

/** Runs `block`, which must throw `ApigException.Credentials` with `code` from `provider`. */
private fun expectCredentialsError(code: String, provider: String, block: () -> Unit): ApigException.Credentials {
    try {
        block()
    } catch (e: ApigException.Credentials) {
        checkEq(code, e.code(), "code ($e)")
        checkEq(code, e.errorCode, "errorCode")
        checkEq(provider, e.provider, "provider ($e)")
        return e
    }
    throw AssertionError("expected ApigException.Credentials ($code), nothing was thrown")
}

/** The ECS metadata service: answers what [answer] says, counts the credential fetches. */
private class MetadataServer {
    @Volatile var answer: () -> Pair<Int, String> = { 404 to "" }
    val fetches = AtomicInteger()
    private val server = HttpServer.create(InetSocketAddress("127.0.0.1", 0), 0).apply {
        // no session token (the v3 SDKs then go on without one)
        createContext("/meta-data/latest/api/token") { it.sendResponseHeaders(404, -1); it.close() }
        createContext("/openstack/latest/securitykey") { exchange ->
            fetches.incrementAndGet()
            val (status, body) = answer()
            val bytes = body.toByteArray()
            exchange.sendResponseHeaders(status, if (bytes.isEmpty()) -1 else bytes.size.toLong())
            exchange.responseBody.use { it.write(bytes) }
        }
        start()
    }
    val endpoint = "http://127.0.0.1:${server.address.port}"

    /** Issues the pair `tmp-ak-n` / `tmp-sk-n` with token `tok-n`, expiring `ttl` from now. */
    fun issue(n: Int, ttl: Duration) {
        val expires = DateTimeFormatter.ISO_INSTANT.format(Instant.now().plus(ttl))
        answer = {
            200 to """{"credential":{"access":"tmp-ak-$n","secret":"tmp-sk-$n","securitytoken":"tok-$n","expires_at":"$expires"}}"""
        }
    }

    fun stop() = server.stop(0)
}

/** Polls `condition` every 20 ms for at most `seconds`. */
private fun eventually(seconds: Long, what: String, condition: () -> Boolean) {
    val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds)
    while (!condition()) {
        check(System.nanoTime() < deadline) { "not within $seconds s: $what" }
        Thread.sleep(20)
    }
}

fun main(args: Array<String>) {
    val gateway = args.single()
    val metadata = MetadataServer()

    test("Credentials: accessors; toString never shows the secret or the token") {
        val c = Credentials("AK1", "s3cr3t-sk", "t0k3n", Instant.parse("2030-01-01T00:00:00Z"), "p1", null)
        checkEq("s3cr3t-sk", c.secretKey(), "secret")
        checkEq("t0k3n", c.securityToken(), "token")
        checkEq("p1", c.projectId(), "project id")
        val shown = c.toString()
        check(shown.contains("AK1") && !shown.contains("s3cr3t") && !shown.contains("t0k3n")) { shown }
        checkEq(c, Credentials("AK1", "s3cr3t-sk", "t0k3n", Instant.parse("2030-01-01T00:00:00Z"), "p1", null), "equals")
        check(c != Credentials("AK1", "other", "t0k3n", null, "p1", null)) { "different secrets compare equal" }
    }

    test("a signer from credentials signs the token and ids; the verifier reports the signed token") {
        val credentials = StaticProvider("static-ak", "static-sk", "tok+/=", "proj", "dom").credentials()
        val request = Request("GET", "https://h.example/v1", emptyList(), ByteArray(0))
        val signed = credentials.signer().sign(request)
        checkEq(
            listOf("X-Project-Id", "X-Domain-Id", "X-Security-Token"),
            signed.headers.map { it.name }.take(3),
            "credential headers first",
        )
        check(signed.signedHeaders.contains("x-security-token") && signed.signedHeaders.contains("x-domain-id")) { signed.signedHeaders }
        val verified = Verifier(mapOf("static-ak" to "static-sk")).verify(request.copy(headers = signed.headers))
        checkEq("tok+/=", verified.securityToken, "verified token")
        val permanent = Verifier(mapOf("static-ak" to "static-sk")).verify(request.copy(headers = StaticProvider("static-ak", "static-sk").credentials().signer().sign(request).headers))
        checkEq(null, permanent.securityToken, "no token")
    }

    test("environment provider and the default chain read HUAWEICLOUD_SDK_*") {
        val c = EnvironmentProvider().credentials()
        checkEq(listOf("env-ak", "env-secret", "env-token", "env-project"), listOf(c.accessKey(), c.secretKey(), c.securityToken(), c.projectId()), "env")
        val answered = ChainProvider().resolve()
        checkEq("environment", answered.provider, "provider")
        checkEq("env-ak", answered.credentials.accessKey(), "key")
    }

    test("profile provider: sections, a missing file, a malformed one") {
        val file = java.io.File.createTempFile("apig-credentials", ".ini")
        try {
            file.writeText("[basic]\nak = file-ak\nsk = file-sk\nproject_id = p9\n[global]\nak = g-ak\nsk = g-sk\ndomain_id = d9\n")
            checkEq("p9", ProfileProvider(file.path).credentials().projectId(), "basic")
            checkEq("d9", ProfileProvider(file.path, "global").credentials().domainId(), "global")
            val e = expectCredentialsError("missing", "profile") { ProfileProvider(file.path + ".absent").credentials() }
            check(e.source.contains(file.name)) { e.source }
            file.writeText("[basic\nak = x\n")
            expectCredentialsError("malformed", "profile") { ProfileProvider(file.path).credentials() }
        } finally {
            file.delete()
        }
    }

    test("metadata provider: temporary credentials, refreshed in the background before expiry") {
        metadata.issue(1, Duration.ofMinutes(10))
        val before = metadata.fetches.get()
        // a margin longer than the lifetime: every answer is due for a refresh, none waits on one
        val provider = MetadataProvider(metadata.endpoint, 3600UL, 2000UL, 0UL)
        val first = provider.credentials()
        checkEq(listOf("tmp-ak-1", "tmp-sk-1", "tok-1"), listOf(first.accessKey(), first.secretKey(), first.securityToken()), "first")
        check(first.expiresAt()!!.isAfter(Instant.now())) { "expiry ${first.expiresAt()}" }
        metadata.issue(2, Duration.ofMinutes(10))
        checkEq("tmp-ak-1", provider.credentials().accessKey(), "served from the cache while refreshing")
        eventually(5, "the refreshed pair") { provider.credentials().accessKey() == "tmp-ak-2" }
        check(metadata.fetches.get() - before >= 2) { "fetches ${metadata.fetches.get() - before}" }
    }

    test("metadata provider: malformed JSON, missing fields, HTTP errors, unreachable: typed errors") {
        metadata.answer = { 200 to "{not json" }
        var e = expectCredentialsError("malformed", "metadata") { MetadataProvider(metadata.endpoint, timeoutMs = 2000UL).credentials() }
        check(e.source.startsWith(metadata.endpoint)) { e.source }
        metadata.answer = { 200 to """{"credential":{"access":"a"}}""" }
        expectCredentialsError("missing_field", "metadata") { MetadataProvider(metadata.endpoint, timeoutMs = 2000UL).credentials() }
        metadata.answer = { 500 to "boom" }
        expectCredentialsError("http_status", "metadata") { MetadataProvider(metadata.endpoint, timeoutMs = 2000UL).credentials() }
        val closed = java.net.ServerSocket(0).use { it.localPort }
        e = expectCredentialsError("unreachable", "metadata") { MetadataProvider("http://127.0.0.1:$closed", timeoutMs = 2000UL).credentials() }
        check(e.source.contains(":$closed")) { e.source }
    }

    test("metadata provider: expired credentials whose refresh fails end in code expired") {
        metadata.issue(3, Duration.ofMillis(2000))
        val provider = MetadataProvider(metadata.endpoint, 0UL, 2000UL, 0UL)
        checkEq("tmp-ak-3", provider.credentials().accessKey(), "before expiry")
        metadata.answer = { 200 to "{not json" }
        val expiry = provider.credentials().expiresAt()!!
        Thread.sleep(Duration.between(Instant.now(), expiry).toMillis().coerceAtLeast(0) + 50)
        expectCredentialsError("expired", "metadata") { provider.credentials() }
    }

    test("chain: the first provider that answers, by name; a Kotlin provider; no_provider") {
        metadata.issue(1, Duration.ofMinutes(10))
        val absent = ProfileProvider("/nonexistent/apig-credentials")
        val answered = ChainProvider(listOf(absent, MetadataProvider(metadata.endpoint, timeoutMs = 2000UL))).resolve()
        checkEq("metadata", answered.provider, "provider")
        checkEq("tok-1", answered.credentials.securityToken(), "token")
        val vault = object : CredentialsProvider {
            override fun credentials() = Credentials("static-ak", "static-sk")
            override fun name() = "vault"
        }
        checkEq("vault", ChainProvider(listOf(absent, vault)).resolve().provider, "kotlin provider")
        val failing = object : CredentialsProvider {
            override fun credentials(): Credentials = throw ApigException.Credentials("sealed", "missing", "vault", "vault://x")
            override fun name() = "vault"
        }
        val e = expectCredentialsError("no_provider", "chain") { ChainProvider(listOf(absent, failing)).resolve() }
        check(e.reason.contains("vault://x") && e.reason.contains("no such file")) { e.reason }
    }

    test("clockSkewFromApigMessage: the core's parser") {
        checkEq(960L, clockSkewFromApigMessage("signature expired, signature time:20240403T101500Z, server time:20240403T103100Z"), "skew")
        checkEq(null, clockSkewFromApigMessage("verify signature fail"), "other")
    }

    // ---- OkHttp against the gateway ----
    val attempts = AtomicInteger()
    val counting = Interceptor { chain -> attempts.incrementAndGet(); chain.proceed(chain.request()) }
    fun client(interceptor: ApigInterceptor) = OkHttpClient.Builder()
        .addInterceptor(interceptor)
        .addNetworkInterceptor(counting)
        .callTimeout(10, TimeUnit.SECONDS)
        .build()
    fun get(client: OkHttpClient) = client.newCall(okhttp3.Request.Builder().url("$gateway/demo/echo?x=1").build()).execute()
    val json = MediaType.parse("application/json; charset=utf-8")

    test("OkHttp: temporary credentials from the metadata service, GET and POST accepted by the gateway") {
        metadata.issue(1, Duration.ofMinutes(10))
        val client = client(ApigInterceptor(MetadataProvider(metadata.endpoint, timeoutMs = 2000UL)))
        get(client).use { response ->
            val body = response.body()!!.string()
            checkEq(200, response.code(), "GET status ($body)")
            check(body.contains("tok-1")) { "the security token did not reach the backend: $body" }
        }
        val post = okhttp3.Request.Builder().url("$gateway/demo/echo").post(RequestBody.create(json, """{"name":"apig"}""")).build()
        client.newCall(post).execute().use { response ->
            val body = response.body()!!.string()
            checkEq(200, response.code(), "POST status ($body)")
            check(body.contains("apig")) { body }
        }
    }

    test("OkHttp: a streamed body (unknown length) is sent as UNSIGNED-PAYLOAD") {
        val client = client(ApigInterceptor(StaticProvider("static-ak", "static-sk", "static-token")))
        val streamed = object : RequestBody() {
            override fun contentType() = MediaType.parse("text/plain")
            override fun contentLength() = -1L
            override fun writeTo(sink: BufferedSink) { sink.writeUtf8("streamed-bytes") }
        }
        val request = okhttp3.Request.Builder().url("$gateway/demo/echo").post(streamed).build()
        client.newCall(request).execute().use { response ->
            val body = response.body()!!.string()
            checkEq(200, response.code(), "status ($body)")
            check(body.contains("UNSIGNED-PAYLOAD") && body.contains("streamed-bytes")) { body }
        }
    }

    test("OkHttp: a wrong clock is refused as expired, retried once with the server's time, then remembered") {
        val interceptor = ApigInterceptor(StaticProvider("static-ak", "static-sk"), clock = { Instant.now().minusSeconds(1800) })
        val client = client(interceptor)
        attempts.set(0)
        get(client).use { checkEq(200, it.code(), "status after the retry") }
        checkEq(2, attempts.get(), "attempts")
        check(interceptor.clockOffsetSeconds in 1790..1810) { "offset ${interceptor.clockOffsetSeconds}" }
        attempts.set(0)
        get(client).use { checkEq(200, it.code(), "next status") }
        checkEq(1, attempts.get(), "attempts once the offset is known")

        val noRetry = client(ApigInterceptor(StaticProvider("static-ak", "static-sk"), retryOnExpired = false, clock = { Instant.now().minusSeconds(1800) }))
        attempts.set(0)
        get(noRetry).use { response ->
            checkEq(401, response.code(), "status without retry")
            check(response.body()!!.string().contains("signature expired")) { "not an expiry" }
        }
        checkEq(1, attempts.get(), "attempts without retry")
    }

    test("OkHttp: a provider failure is an IOException carrying the typed error") {
        val closed = java.net.ServerSocket(0).use { it.localPort }
        val client = client(ApigInterceptor(MetadataProvider("http://127.0.0.1:$closed", timeoutMs = 1000UL)))
        try {
            get(client).close()
            throw AssertionError("no error")
        } catch (e: ApigSigningException) {
            val cause = e.cause
            check(cause is ApigException.Credentials && cause.code() == "unreachable" && cause.provider == "metadata") { "$cause" }
        } catch (e: IOException) {
            throw AssertionError("an IOException that is not ApigSigningException: $e")
        }
    }

    metadata.stop()
    println("$passed passed, $failed failed")
    exitProcess(if (failed == 0) 0 else 1)
}
