// Sign every OkHttp request with credentials from the default provider chain.
//
// The chain tries the environment (HUAWEICLOUD_SDK_AK, _SK, _SECURITY_TOKEN, …), then the profile
// file ~/.huaweicloud/credentials, then the ECS metadata service, and says which one answered. The
// interceptor signs each request with the current credentials (a security token is sent as
// X-Security-Token, signed) and retries once when the gateway answers that the signature expired
// (a wrong clock). Run by `cargo xtask test kotlin` against a running apig-gateway, the argument
// being its base URL; exits non-zero unless the gateway accepts the request.
package apig.examples

import apig.ChainProvider
import apig.okhttp.ApigInterceptor
import okhttp3.OkHttpClient
import okhttp3.Request
import java.util.concurrent.TimeUnit
import kotlin.system.exitProcess

fun main(args: Array<String>) {
    val gateway = args.singleOrNull() ?: "http://127.0.0.1:8080"
    val credentials = ChainProvider()
    val answered = credentials.resolve()
    println("credentials from the ${answered.provider} provider: ${answered.credentials}") // never the secret

    val client = OkHttpClient.Builder()
        .addInterceptor(ApigInterceptor(credentials)) // retryOnExpired = true by default
        .callTimeout(10, TimeUnit.SECONDS)
        .build()
    client.newCall(Request.Builder().url("$gateway/demo/echo?from=okhttp").build()).execute().use { response ->
        println("GET /demo/echo: ${response.code()}")
        if (response.code() != 200) {
            println(response.body()?.string())
            exitProcess(1)
        }
    }
}
