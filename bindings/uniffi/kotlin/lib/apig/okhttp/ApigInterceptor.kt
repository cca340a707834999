// An OkHttp interceptor that signs every request with apig (shipped in the apig jar; OkHttp is the
// application's own dependency: the jar does not bundle it). Compiled against OkHttp 3.13's API,
// whose calls (`request.body()`, `response.code()`, `RequestBody.create(…)`) OkHttp 4 and 5 keep.
package apig.okhttp

import apig.Algorithm
import apig.ApigException
import apig.Credentials
import apig.CredentialsProvider
import apig.Header
import apig.Profile
import apig.Request
import apig.Signer
import apig.clockSkewFromApigMessage
import okhttp3.Interceptor
import okhttp3.RequestBody
import okhttp3.Response
import okio.Buffer
import java.io.IOException
import java.time.Instant

/** Getting credentials or signing failed; [cause] is the [ApigException] with its stable `code()`. */
class ApigSigningException(override val cause: ApigException) : IOException(cause.toString(), cause)

/**
 * Signs each request with the [provider]'s current credentials (its security token, project id and
 * domain id become signed headers). Add it with `OkHttpClient.Builder.addInterceptor` (an
 * application interceptor: it may send a request twice), after any interceptor that changes the
 * request.
 *
 * Bodies: a body of known length up to [maxBufferedBody] bytes is read once, hashed and sent from
 * that copy (so a one-shot body is consumed once and a retry resends the same bytes); a body of
 * unknown length (`contentLength() == -1`, a stream) or a larger one is not read: it is signed as
 * `UNSIGNED-PAYLOAD` (the gateway must allow unsigned payloads; the body is then not authenticated).
 *
 * [retryOnExpired]: a 401 whose APIG message says the signature expired, with the server's time
 * (`clockSkewFromApigMessage`), teaches the interceptor its clock's offset ([clockOffsetSeconds],
 * kept for later requests), and the request is signed again and sent once more.
 *
 * [algorithm], [region], [service] and [profile] are `Signer(…)`'s; [clock] is the time source
 * (tests). Failures to get credentials or to sign are thrown as [ApigSigningException] (an
 * IOException, as OkHttp expects from interceptors).
 */
class ApigInterceptor @JvmOverloads constructor(
    private val provider: CredentialsProvider,
    private val algorithm: Algorithm? = null,
    private val region: String? = null,
    private val service: String? = null,
    private val profile: Profile? = null,
    private val retryOnExpired: Boolean = true,
    private val maxBufferedBody: Long = 8L * 1024 * 1024,
    private val clock: () -> Instant = Instant::now,
) : Interceptor {
    /** Seconds added to [clock] when signing, learned from the server's "signature expired" answers. */
    @Volatile
    var clockOffsetSeconds: Long = 0
        private set

    private val lock = Any()
    private var cachedCredentials: Credentials? = null
    private var cachedSigner: Signer? = null

    override fun intercept(chain: Interceptor.Chain): Response {
        val prepared = prepare(chain.request())
        val offset = clockOffsetSeconds
        val response = chain.proceed(sign(prepared, offset))
        if (!retryOnExpired || response.code() != 401) return response
        val skew = clockSkewFromApigMessage(response.peekBody(MAX_ERROR_BODY).string()) ?: return response
        clockOffsetSeconds = offset + skew
        response.close()
        return chain.proceed(sign(prepared, offset + skew))
    }

    /** The request to sign: its body read once when it is to be hashed, its Content-Type as a header. */
    private class Prepared(val request: okhttp3.Request, val body: ByteArray, val unsignedPayload: Boolean)

    private fun prepare(original: okhttp3.Request): Prepared {
        val body = original.body() ?: return Prepared(original, EMPTY, false)
        val builder = original.newBuilder()
        val contentType = body.contentType()
        // OkHttp sends the body's media type as Content-Type: present it to the signer too
        if (contentType != null && original.header("Content-Type") == null) {
            builder.header("Content-Type", contentType.toString())
        }
        val length = body.contentLength()
        if (length < 0 || length > maxBufferedBody) return Prepared(builder.build(), EMPTY, true)
        val buffer = Buffer()
        body.writeTo(buffer)
        val bytes = buffer.readByteArray()
        return Prepared(builder.method(original.method(), RequestBody.create(contentType, bytes)).build(), bytes, false)
    }

    private fun sign(prepared: Prepared, offsetSeconds: Long): okhttp3.Request {
        val request = prepared.request
        val names = request.headers()
        val headers = List(names.size()) { Header(names.name(it), names.value(it)) }
        val signed = try {
            signer().sign(
                Request(request.method(), request.url().toString(), headers, prepared.body, prepared.unsignedPayload),
                clock().plusSeconds(offsetSeconds),
            )
        } catch (e: ApigException) {
            throw ApigSigningException(e)
        }
        val builder = request.newBuilder()
        for (header in signed.headers) builder.addHeader(header.name, header.value)
        return builder.build()
    }

    /** The signer of the provider's current credentials, built again only when they change. */
    private fun signer(): Signer {
        val credentials = provider.credentials()
        synchronized(lock) {
            val signer = cachedSigner
            if (signer != null && credentials == cachedCredentials) return signer
            // the previous signer may be in use on another thread: the cleaner frees it
            return credentials.signer(algorithm, region, service, profile).also {
                cachedCredentials = credentials
                cachedSigner = it
            }
        }
    }

    private companion object {
        val EMPTY = ByteArray(0)
        const val MAX_ERROR_BODY = 64L * 1024
    }
}
