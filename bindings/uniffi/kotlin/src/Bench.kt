// Throughput of the Kotlin bindings on the JVM: sign and verify of a small POST (through JNI:
// bindings/uniffi/src/jni.rs), and the same signatures by a plain JVM signer (`JvmSigner` below:
// javax.crypto.Mac + MessageDigest, not part of the product) measured side by side.
// Run after `cargo xtask test kotlin` (which builds the jar):
//   java -Djna.library.path=$T/release -cp $T/kotlin/apig-kotlin.jar:/usr/share/java/jna.jar apig.tests.BenchKt
// with T = the cargo target folder; optional argument: iterations per round (default 20000).
// Prints the median of 7 interleaved rounds per operation, wall and thread CPU time, and for each plain
// JVM signer the ratio of the CPU medians and the median of the per-round ratios; exits 1 if the plain
// JVM signer's Authorization differs from ours.
package apig.tests

import apig.Header
import apig.Request
import apig.Signer
import apig.Verifier
import java.lang.management.ManagementFactory
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

/** One operation measured: its wall and thread-CPU time per call, one entry per round. */
private class Measured(val op: () -> Unit) {
    val wall = mutableListOf<Double>()
    val cpu = mutableListOf<Double>()

    fun median(times: List<Double>) = times.sorted()[times.size / 2]

    override fun toString() = "%.0f ns/op (thread CPU %.0f)".format(median(wall), median(cpu))
}

/**
 * `rounds` rounds of `iterations` calls of every operation, interleaved (round 1 of each, then
 * round 2 of each, …) so that a change of load hits all of them alike.
 */
private fun measure(rounds: Int, iterations: Int, ops: List<Measured>) {
    val threads = ManagementFactory.getThreadMXBean()
    repeat(rounds) {
        for (m in ops) {
            val cpu = threads.currentThreadCpuTime
            val start = System.nanoTime()
            repeat(iterations) { m.op() }
            m.wall += (System.nanoTime() - start).toDouble() / iterations
            m.cpu += (threads.currentThreadCpuTime - cpu).toDouble() / iterations
        }
    }
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
    val access = Measured { signer.accessKey() }
    val signGet = Measured { signer.sign(get) }
    val plainGet = Measured { jvmGet() }
    val sign = Measured { signer.sign(request, at) }
    val plainPost = Measured { jvmPost() }
    val verify = Measured { verifier.verify(sent, at) }
    measure(7, iterations, listOf(signGet, plainGet, sign, plainPost, verify))
    // apart: a JNA call leaves garbage (JNA Structures, native memory for the cleaner) that would
    // slow the others down through the collector
    measure(7, iterations, listOf(access))
    // the ratio of the medians, and the median of the per-round ratios (the two measured in the same
    // round, so a change of load between rounds cancels out)
    val ratio = { plain: Measured, ours: Measured ->
        val perRound = plain.cpu.indices.map { plain.cpu[it] / ours.cpu[it] }
        "%.1fx faster (CPU; median of the per-round ratios %.2fx)".format(plain.median(plain.cpu) / ours.median(ours.cpu), plain.median(perRound))
    }
    println("kotlin accessKey (one method call through JNA, no signing): $access")
    println("kotlin sign GET, no body: $signGet")
    println("  plain JVM signer, GET: $plainGet: apig ${ratio(plainGet, signGet)}")
    println("kotlin sign POST, 32 B body: $sign")
    println("  plain JVM signer, POST: $plainPost: apig ${ratio(plainPost, sign)}")
    println("kotlin verify POST: $verify")
}
