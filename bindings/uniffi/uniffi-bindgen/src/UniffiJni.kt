
// apig: the JVM fast path, appended to uniffi's generated Kotlin by apig-uniffi-bindgen
// (bindings/uniffi/uniffi-bindgen/src/UniffiJni.kt). `Signer.sign` and `Verifier.verify` call
// Rust through one JNI method each (bindings/uniffi/src/jni.rs, which documents the layout)
// instead of JNA: the arguments in one byte array (their lengths, then the strings' UTF-8 back to
// back, then the body) and the answer in another (uniffi's serialisation of the same types, the
// repeated strings of a `SignedRequest` sent once). Same types, same errors (`ApigException`, with
// the same `code()`), one crossing and no JNA `Structure` per call.

/**
 * The JNI methods of `bindings/uniffi/src/jni.rs`, bound with `RegisterNatives` on first use.
 *
 * @suppress
 */
internal object UniffiJni {
    init {
        UniffiLib.ensureInitialized()
        val library = com.sun.jna.NativeLibrary.getInstance(
            findLibraryName(componentName = "apig_uniffi"),
            mapOf(com.sun.jna.Library.OPTION_ALLOW_OBJECTS to true),
        )
        com.sun.jna.Native.register(UniffiJniRegistrar::class.java, library)
        val status = UniffiJniRegistrar.apig_uniffi_jni_register(com.sun.jna.JNIEnv.CURRENT, UniffiJni::class.java)
        if (status != 0) {
            throw InternalException("apig: RegisterNatives failed ($status)")
        }
    }

    /** The answer in `answer` (of `answerSize` bytes) when it fits (then `answer` itself is returned), else in a new array. */
    @JvmStatic external fun signerSign(handle: Long, args: ByteArray, len: Int, answer: ByteArray, answerSize: Int): ByteArray

    @JvmStatic external fun verifierVerify(handle: Long, args: ByteArray, len: Int, answer: ByteArray, answerSize: Int): ByteArray
}

/**
 * This thread's buffers for the arguments and the answer of the fast path, reused from call to
 * call (a call is over, its answer read, before the thread can make another).
 *
 * @suppress
 */
internal class UniffiJniBuffers {
    /** The array holding this call's arguments. */
    var args = ByteArray(1024)
        private set
    val answer = ByteArray(4096)
    private var kept = args

    /** An array of at least `size` bytes for the arguments, now [args] (kept for the next calls up to 64 KiB). */
    fun args(size: Int): ByteArray {
        args = if (size <= kept.size) kept else ByteArray(size).also { if (size <= 65536) kept = it }
        return args
    }

    /** `encoded` as this call's arguments. */
    fun use(encoded: ByteArray) {
        args = encoded
    }

    companion object {
        private val perThread = ThreadLocal.withInitial { UniffiJniBuffers() }

        fun get(): UniffiJniBuffers = perThread.get()
    }
}

/**
 * The one JNA call of the fast path: binds the methods of [UniffiJni].
 *
 * @suppress
 */
internal object UniffiJniRegistrar {
    external fun apig_uniffi_jni_register(env: com.sun.jna.JNIEnv, cls: Any): Int
}

/**
 * The arguments of `sign` and `verify` in `buffers`' argument array, laid out as `Args` in
 * bindings/uniffi/src/jni.rs reads them: the lengths (the method's, the URL's, the header count,
 * each name's and value's, the body's), the `unsignedPayload` byte and the time as
 * `FfiConverterOptionalTimestamp` writes it, then every string's UTF-8 back to back, then the body;
 * returns their length. ASCII strings (the common case) are copied char by char straight into the
 * array; any other string sends the request down [uniffiJniArgsEncoded].
 *
 * @suppress
 */
internal fun uniffiJniArgs(request: Request, time: java.time.Instant?, buffers: UniffiJniBuffers): Int {
    val headers = request.headers
    val count = headers.size
    val fixed = 4 + 4 + 4 + 8 * count + 4 + 1 + (if (time == null) 1 else 13)
    // exact when every string is ASCII (one byte per char)
    var size = fixed + request.method.length + request.url.length + request.body.size
    for (i in 0 until count) {
        val header = headers[i]
        size += header.name.length + header.value.length
    }
    val out = buffers.args(size)
    var lens = uniffiJniPutInt(out, 0, request.method.length)
    lens = uniffiJniPutInt(out, lens, request.url.length)
    lens = uniffiJniPutInt(out, lens, count)
    var ascii = uniffiJniPutAscii(out, fixed, request.method) or uniffiJniPutAscii(out, fixed + request.method.length, request.url)
    var at = fixed + request.method.length + request.url.length
    for (i in 0 until count) {
        val header = headers[i]
        val name = header.name
        val value = header.value
        lens = uniffiJniPutInt(out, lens, name.length)
        lens = uniffiJniPutInt(out, lens, value.length)
        ascii = ascii or uniffiJniPutAscii(out, at, name)
        at += name.length
        ascii = ascii or uniffiJniPutAscii(out, at, value)
        at += value.length
    }
    if (ascii >= 0x80) {
        val encoded = uniffiJniArgsEncoded(request, time)
        buffers.use(encoded)
        return encoded.size
    }
    lens = uniffiJniPutInt(out, lens, request.body.size)
    out[lens++] = if (request.unsignedPayload) 1.toByte() else 0.toByte()
    FfiConverterOptionalTimestamp.write(time, ByteBuffer.wrap(out, lens, fixed - lens))
    System.arraycopy(request.body, 0, out, at, request.body.size)
    return size
}

/** `value` big-endian at `at` in `out`; returns the index after it. @suppress */
internal fun uniffiJniPutInt(out: ByteArray, at: Int, value: Int): Int {
    out[at] = (value ushr 24).toByte()
    out[at + 1] = (value ushr 16).toByte()
    out[at + 2] = (value ushr 8).toByte()
    out[at + 3] = value.toByte()
    return at + 4
}

/**
 * The low byte of each char of `value` at `at` in `out` (its UTF-8 when it is ASCII); returns the
 * chars or'ed together: `>= 0x80` when it is not ASCII (then the bytes written are not its UTF-8).
 *
 * @suppress
 */
internal fun uniffiJniPutAscii(out: ByteArray, at: Int, value: String): Int {
    var seen = 0
    for (i in 0 until value.length) {
        val c = value[i].code
        seen = seen or c
        out[at + i] = c.toByte()
    }
    return seen
}

/**
 * The arguments as [uniffiJniArgs] lays them out, the strings encoded by the JDK's UTF-8 encoder
 * (for requests with a non-ASCII string).
 *
 * @suppress
 */
internal fun uniffiJniArgsEncoded(request: Request, time: java.time.Instant?): ByteArray {
    val headers = request.headers
    val strings = ArrayList<ByteArray>(2 + 2 * headers.size)
    strings.add(uniffiJniUtf8(request.method))
    strings.add(uniffiJniUtf8(request.url))
    for (header in headers) {
        strings.add(uniffiJniUtf8(header.name))
        strings.add(uniffiJniUtf8(header.value))
    }
    var size = 4 + 4 + 4 + 8 * headers.size + 4 + 1 + (if (time == null) 1 else 13) + request.body.size
    for (string in strings) size += string.size
    val buf = ByteBuffer.wrap(ByteArray(size))
    buf.putInt(strings[0].size).putInt(strings[1].size).putInt(headers.size)
    for (i in 2 until strings.size) buf.putInt(strings[i].size)
    buf.putInt(request.body.size)
    buf.put(if (request.unsignedPayload) 1.toByte() else 0.toByte())
    FfiConverterOptionalTimestamp.write(time, buf)
    for (string in strings) buf.put(string)
    buf.put(request.body)
    return buf.array()
}

/**
 * `value` in UTF-8: the JDK's fast encoder, or uniffi's strict one (which refuses a lone surrogate
 * as every other call of the bindings does) when `value` has surrogates.
 *
 * @suppress
 */
internal fun uniffiJniUtf8(value: String): ByteArray {
    for (c in value) {
        if (Character.isSurrogate(c)) {
            val strict = FfiConverterString.toUtf8(value)
            return ByteArray(strict.remaining()).also { strict.get(it) }
        }
    }
    return value.toByteArray(Charsets.UTF_8)
}

/** A string of the answer, decoded in place. @suppress */
internal fun uniffiJniString(buf: ByteBuffer): String {
    val len = buf.getInt()
    val value = String(buf.array(), buf.arrayOffset() + buf.position(), len, Charsets.UTF_8)
    buf.position(buf.position() + len)
    return value
}

/**
 * The names of the headers the Rust side adds, by the index an answer gives
 * (`ADDED_HEADER_NAMES` in bindings/uniffi/src/jni.rs).
 *
 * @suppress
 */
internal val uniffiJniHeaderNames = arrayOf("X-Project-Id", "X-Domain-Id", "X-Security-Token", "Host", "X-Sdk-Date", "X-Sdk-Content-Sha256", "Authorization")

/**
 * A `SignedRequest` of the answer (`write_signed` in bindings/uniffi/src/jni.rs: the fields in
 * declaration order, the headers last, each a name index or string and a value marker or
 * string), each distinct string decoded once. @suppress
 */
internal fun uniffiJniSignedRequest(buf: ByteBuffer): SignedRequest {
    val authorization = uniffiJniString(buf)
    val signature = uniffiJniString(buf)
    val signedHeaders = uniffiJniString(buf)
    val date = uniffiJniString(buf)
    val credentialScope = if (buf.get() == 0.toByte()) null else uniffiJniString(buf)
    val canonicalRequest = uniffiJniString(buf)
    val stringToSign = uniffiJniString(buf)
    val headers = List(buf.getInt()) {
        val index = buf.get().toInt() and 0xff
        val name = if (index == 0xff) uniffiJniString(buf) else uniffiJniHeaderNames[index]
        val value = when (buf.get()) {
            0.toByte() -> authorization
            1.toByte() -> date
            else -> uniffiJniString(buf)
        }
        Header(name = name, value = value)
    }
    return SignedRequest(
        headers = headers,
        authorization = authorization,
        signature = signature,
        signedHeaders = signedHeaders,
        date = date,
        credentialScope = credentialScope,
        canonicalRequest = canonicalRequest,
        stringToSign = stringToSign,
    )
}

/** A `Verified` of the answer (its fields in declaration order). @suppress */
internal fun uniffiJniVerified(buf: ByteBuffer): Verified = Verified(
    accessKey = uniffiJniString(buf),
    algorithm = FfiConverterTypeAlgorithm.read(buf),
    signedHeaders = List(buf.getInt()) { uniffiJniString(buf) },
    date = uniffiJniString(buf),
    unsignedPayload = buf.get() != 0.toByte(),
    securityToken = if (buf.get() == 0.toByte()) null else uniffiJniString(buf),
)

/**
 * The outcome of a JNI call: its length (an `i32`: the array may be longer), a status byte (0 the
 * value, read by `read`; 1 an [ApigException]; 2 a panic message), then the payload.
 *
 * @suppress
 */
internal inline fun <R> uniffiJniAnswer(answer: ByteArray, read: (ByteBuffer) -> R): R {
    val buf = ByteBuffer.wrap(answer)
    buf.limit(4 + buf.getInt())
    return when (buf.get()) {
        0.toByte() -> read(buf).also {
            if (buf.hasRemaining()) throw InternalException("apig: ${buf.remaining()} bytes left after the answer")
        }
        1.toByte() -> throw FfiConverterTypeApigError.read(buf)
        else -> throw InternalException(FfiConverterString.read(buf))
    }
}
