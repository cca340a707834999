// Throughput of the Kotlin bindings on the JVM: sign and verify of a small POST (through JNI:
// bindings/uniffi/src/jni.rs), and the same signatures by a plain JVM signer (`JvmSigner` below:
// javax.crypto.Mac + MessageDigest, not part of the product) measured side by side.
// Run after `cargo xtask test kotlin` (which builds the jar):
//   java -Djna.library.path=$T/release -cp $T/kotlin/apig-kotlin.jar:/usr/share/java/jna.jar apig.tests.BenchKt
// with T = the cargo target folder; optional argument: iterations per round (default 20000).
// Prints ns/op of the median of 5 rounds per operation; exits 1 if the plain JVM signer's
// Authorization differs from ours.
package apig.tests

import apig.Header
import apig.Request
import apig.Signer
import apig.Verifier
import java.net.URI
import java.net.URLDecoder
import java.net.URLEncoder
import java.security.MessageDigest
import java.time.Instant
import java.time.ZoneOffset
import java.time.format.DateTimeFormatter
import java.util.TreeMap
import javax.crypto.Mac
import javax.crypto.spec.SecretKeySpec
import kotlin.system.exitProcess

/**
 * The baseline: a straightforward SDK-HMAC-SHA256 signer on the JDK alone, as an application would
 * write it from Huawei's documentation (the official Java signer's steps, without its HTTP client
 * types): every header signed, `X-Sdk-Date` added, the path given a trailing `/`, the query sorted
 * and percent-encoded, SHA-256 and HMAC-SHA256 from the JDK's providers. Returns the
 * `Authorization` value.
 */
private object JvmSigner {
    private val SDK_DATE = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC)

    private fun hex(bytes: ByteArray): String {
        val out = StringBuilder(bytes.size * 2)
        for (b in bytes) {
            out.append(Character.forDigit((b.toInt() shr 4) and 0xF, 16)).append(Character.forDigit(b.toInt() and 0xF, 16))
        }
        return out.toString()
    }

    private fun encode(s: String) =
        URLEncoder.encode(s, Charsets.UTF_8).replace("+", "%20").replace("*", "%2A").replace("%7E", "~")

    fun sign(key: String, secret: String, method: String, url: String, headers: List<Pair<String, String>>, body: ByteArray, at: Instant?): String {
        val uri = URI(url)
        val signed = TreeMap<String, String>()
        for ((name, value) in headers) signed[name.lowercase()] = value.trim()
        signed.getOrPut("host") { uri.rawAuthority }
        val date = signed.getOrPut("x-sdk-date") { SDK_DATE.format(at ?: Instant.now()) }
        val path = uri.rawPath.split('/').joinToString("/") { encode(URLDecoder.decode(it, Charsets.UTF_8)) }
        val query = (uri.rawQuery ?: "").split('&').filter { it.isNotEmpty() }.map {
            val parts = it.split('=', limit = 2)
            encode(URLDecoder.decode(parts[0], Charsets.UTF_8)) to encode(URLDecoder.decode(parts.getOrElse(1) { "" }, Charsets.UTF_8))
        }.sortedWith(compareBy({ it.first }, { it.second })).joinToString("&") { "${it.first}=${it.second}" }
        val sha256 = MessageDigest.getInstance("SHA-256")
        val canonical = StringBuilder()
            .append(method).append('\n')
            .append(if (path.endsWith("/")) path else "$path/").append('\n')
            .append(query).append('\n')
        for ((name, value) in signed) canonical.append(name).append(':').append(value).append('\n')
        canonical.append('\n').append(signed.keys.joinToString(";")).append('\n').append(hex(sha256.digest(body)))
        val stringToSign = "SDK-HMAC-SHA256\n$date\n" + hex(sha256.digest(canonical.toString().toByteArray()))
        val mac = Mac.getInstance("HmacSHA256")
        mac.init(SecretKeySpec(secret.toByteArray(), "HmacSHA256"))
        val signature = hex(mac.doFinal(stringToSign.toByteArray()))
        return "SDK-HMAC-SHA256 Access=$key, SignedHeaders=${signed.keys.joinToString(";")}, Signature=$signature"
    }
}

private fun median(rounds: Int, iterations: Int, op: () -> Unit): Double {
    val times = (0 until rounds).map {
        val start = System.nanoTime()
        repeat(iterations) { op() }
        (System.nanoTime() - start).toDouble() / iterations
    }
    return times.sorted()[rounds / 2]
}

fun main(args: Array<String>) {
    val iterations = args.firstOrNull()?.toIntOrNull() ?: 20_000
    val at = Instant.parse("2024-04-03T10:15:00Z")
    val signer = Signer("bench-access-key", "bench-secret-key")
    val verifier = Verifier(mapOf("bench-access-key" to "bench-secret-key"))
    val request = Request(
        "POST",
        "https://api.example.com/v1/items?limit=10",
        listOf(Header("Content-Type", "application/json")),
        """{"name":"apig","tags":["a","b"]}""".toByteArray(),
    )
    val signed = signer.sign(request, at)
    val sent = request.copy(headers = request.headers + signed.headers)
    val get = Request("GET", "https://api.example.com/", listOf(Header("X-Sdk-Date", "20240403T101500Z")))
    val jvmPost = { JvmSigner.sign("bench-access-key", "bench-secret-key", request.method, request.url, request.headers.map { it.name to it.value }, request.body, at) }
    val jvmGet = { JvmSigner.sign("bench-access-key", "bench-secret-key", get.method, get.url, get.headers.map { it.name to it.value }, get.body, null) }
    for ((what, ours, theirs) in listOf(Triple("POST", signed.authorization, jvmPost()), Triple("GET", signer.sign(get).authorization, jvmGet()))) {
        if (ours != theirs) {
            System.err.println("the plain JVM signer disagrees on the $what:\n  apig: $ours\n  JVM:  $theirs")
            exitProcess(1)
        }
    }
    repeat(iterations) { signer.sign(request, at); verifier.verify(sent, at); jvmPost(); jvmGet() } // JIT warm-up
    val sign = median(5, iterations) { signer.sign(request, at) }
    val verify = median(5, iterations) { verifier.verify(sent, at) }
    val access = median(5, iterations) { signer.accessKey() }
    val signGet = median(5, iterations) { signer.sign(get) }
    val plainPost = median(5, iterations) { jvmPost() }
    val plainGet = median(5, iterations) { jvmGet() }
    println("kotlin accessKey (one method call through JNA, no signing): %.0f ns/op".format(access))
    println("kotlin sign GET, no body:  %.0f ns/op (plain JVM signer %.0f ns/op, %.1fx)".format(signGet, plainGet, plainGet / signGet))
    println("kotlin sign POST, 32 B body: %.0f ns/op, %.0f ops/s (plain JVM signer %.0f ns/op, %.1fx)".format(sign, 1e9 / sign, plainPost, plainPost / sign))
    println("kotlin verify POST:  %.0f ns/op (%.0f ops/s)".format(verify, 1e9 / verify))
}
