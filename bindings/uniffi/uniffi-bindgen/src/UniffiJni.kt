
// apig: the JVM fast path, appended to uniffi's generated Kotlin by apig-uniffi-bindgen
// (bindings/uniffi/uniffi-bindgen/src/UniffiJni.kt). `Signer.sign` and `Verifier.verify` call
// Rust through one JNI method each (bindings/uniffi/src/jni.rs) instead of JNA: the arguments
// serialised by the converters above into one byte array, the answer read back by them. Same
// types, same errors (`ApigException`, with the same `code()`), one crossing and no JNA
// `Structure` per call.

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

    @JvmStatic external fun signerSign(handle: Long, args: ByteArray, len: Int): ByteArray

    @JvmStatic external fun verifierVerify(handle: Long, args: ByteArray, len: Int): ByteArray
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
 * Serialises the arguments (`size` bytes at most, written by `write`), makes the JNI call `call`
 * and reads its answer: a status byte (0 the value, 1 an [ApigException], 2 a panic message), then
 * the payload in uniffi's serialisation.
 *
 * @suppress
 */
internal inline fun <R> uniffiJniCall(
    size: ULong,
    write: (ByteBuffer) -> Unit,
    call: (ByteArray, Int) -> ByteArray,
    read: (ByteBuffer) -> R,
): R {
    if (size > Int.MAX_VALUE.toULong()) {
        throw InternalException("apig: the arguments take more than ${Int.MAX_VALUE} bytes")
    }
    val args = ByteBuffer.allocate(size.toInt())
    write(args)
    val answer = ByteBuffer.wrap(call(args.array(), args.position()))
    return when (answer.get()) {
        0.toByte() -> read(answer)
        1.toByte() -> throw FfiConverterTypeApigError.read(answer)
        else -> throw InternalException(FfiConverterString.read(answer))
    }
}
