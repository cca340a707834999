// Sign a request in Kotlin, send it with java.net.http.HttpClient, verify it on the server.
//
// The "server" is com.sun.net.httpserver.HttpServer on 127.0.0.1 in the same JVM, checking each
// request with apig's Verifier (what an APIG gateway does). Run by `cargo xtask test kotlin`; exits
// non-zero unless the signed request is accepted and the tampered and stale ones are refused with
// the right codes.
package apig.examples

import apig.ApigException
import apig.Header
import apig.Request
import apig.Signer
import apig.Verifier
import com.sun.net.httpserver.HttpServer
import java.net.InetSocketAddress
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.time.Duration
import java.time.Instant
import kotlin.system.exitProcess

const val ACCESS_KEY = "app-key-4f5f626b"
const val SECRET = "app-secret-e1d9a1c1"

/** The server side: rebuild the received request and verify it; 200 with the caller, or 401 with the code. */
fun startServer(verifier: Verifier): HttpServer {
    val server = HttpServer.create(InetSocketAddress("127.0.0.1", 0), 0)
    server.createContext("/") { exchange ->
        val headers = exchange.requestHeaders.flatMap { (name, values) -> values.map { Header(name, it) } }
        val received = Request(
            method = exchange.requestMethod,
            url = exchange.requestURI.toString(), // the raw request target, e.g. /v1/items?limit=10
            headers = headers,
            body = exchange.requestBody.readBytes(),
        )
        val (status, answer) = try {
            val verified = verifier.verify(received)
            200 to """{"access_key":"${verified.accessKey}","algorithm":"${verified.algorithm.token()}"}"""
        } catch (e: ApigException) {
            401 to """{"code":"${e.code()}"}"""
        }
        val bytes = answer.toByteArray()
        exchange.responseHeaders.add("Content-Type", "application/json")
        exchange.sendResponseHeaders(status, bytes.size.toLong())
        exchange.responseBody.use { it.write(bytes) }
    }
    server.start()
    return server
}

/**
 * The client side: sign `request` and send it. `Host` is left to HttpClient, which sends the same
 * value the signer signed (it refuses to let callers set it).
 */
fun send(client: HttpClient, request: Request, signed: apig.SignedRequest, body: ByteArray = request.body): HttpResponse<String> {
    val builder = HttpRequest.newBuilder(URI(request.url))
        .timeout(Duration.ofSeconds(10))
        .method(request.method, HttpRequest.BodyPublishers.ofByteArray(body))
    for (header in request.headers + signed.headers) {
        if (!header.name.equals("Host", ignoreCase = true)) builder.header(header.name, header.value)
    }
    return client.send(builder.build(), HttpResponse.BodyHandlers.ofString())
}

fun main() {
    val server = startServer(Verifier(mapOf(ACCESS_KEY to SECRET)))
    val base = "http://127.0.0.1:${server.address.port}"
    val client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()
    val signer = Signer(ACCESS_KEY, SECRET)
    var ok = true
    try {
        val request = Request(
            method = "POST",
            url = "$base/v1/items?limit=10",
            headers = listOf(Header("Content-Type", "application/json")),
            body = """{"name":"apig"}""".toByteArray(),
        )

        val signed = signer.sign(request)
        val accepted = send(client, request, signed)
        println("signed:   ${accepted.statusCode()} ${accepted.body()}")
        ok = ok && accepted.statusCode() == 200 && accepted.body().contains(ACCESS_KEY)

        val tampered = send(client, request, signed, body = """{"name":"evil"}""".toByteArray())
        println("tampered: ${tampered.statusCode()} ${tampered.body()}")
        ok = ok && tampered.statusCode() == 401 && tampered.body().contains("\"signature_mismatch\"")

        val stale = send(client, request, signer.sign(request, Instant.now().minusSeconds(3600)))
        println("stale:    ${stale.statusCode()} ${stale.body()}")
        ok = ok && stale.statusCode() == 401 && stale.body().contains("\"expired\"")
    } finally {
        server.stop(0)
    }
    println(if (ok) "example: all three requests answered as expected" else "example: unexpected answers")
    exitProcess(if (ok) 0 else 1)
}
