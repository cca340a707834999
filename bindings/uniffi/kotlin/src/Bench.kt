// Throughput of the Kotlin bindings on the JVM: sign and verify of a small POST through JNA.
// Run after `cargo xtask test kotlin` (which builds the jar):
//   java -Djna.library.path=$T/release -cp $T/kotlin/apig-kotlin.jar:/usr/share/java/jna.jar apig.tests.BenchKt
// with T = the cargo target folder; optional argument: iterations per round (default 20000).
// Prints ns/op of the median of 5 rounds per operation.
package apig.tests

import apig.Header
import apig.Request
import apig.Signer
import apig.Verifier
import java.time.Instant

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
    repeat(iterations) { signer.sign(request, at); verifier.verify(sent, at) } // JIT warm-up
    val sign = median(5, iterations) { signer.sign(request, at) }
    val verify = median(5, iterations) { verifier.verify(sent, at) }
    val access = median(5, iterations) { signer.accessKey() }
    val get = Request("GET", "https://api.example.com/", listOf(Header("X-Sdk-Date", "20240403T101500Z")))
    val signGet = median(5, iterations) { signer.sign(get) }
    println("kotlin accessKey (one method call, no signing): %.0f ns/op".format(access))
    println("kotlin sign GET, no body:  %.0f ns/op".format(signGet))
    println("kotlin sign POST, 32 B body: %.0f ns/op (%.0f ops/s)".format(sign, 1e9 / sign))
    println("kotlin verify POST:  %.0f ns/op (%.0f ops/s)".format(verify, 1e9 / verify))
}
