// The Node client of the credential rotation proof (examples/rotation, `cargo xtask rotation`).
//
//   node node_client.cjs GATEWAY_URL METADATA_URL SECONDS CONCURRENCY REFRESH_MARGIN MIN_REFRESH_INTERVAL PAUSE_MS
//
// Signs with apig-sdk's MetadataProvider (the ECS metadata service's temporary credentials,
// refreshed in the background before they expire) as the credentials source of signedFetch, with
// CONCURRENCY requests in flight at once, and prints its report as one JSON line (the format of
// examples/rotation/src/report.rs).
'use strict'

const { MetadataProvider, signedFetch } = require('apig-sdk')

async function main ([gateway, metadata, seconds, concurrency, margin, interval, pauseMs]) {
  const timing = { refreshMarginSeconds: Number(margin), minRefreshIntervalSeconds: Number(interval) }
  const provider = new MetadataProvider({ endpoint: metadata, ...timing })
  const apigFetch = signedFetch(provider, { fetch: globalThis.fetch, ...timing })
  const url = `${gateway.replace(/\/$/, '')}/rotation/echo?client=node`
  const report = { client: 'node', requests: 0, failures: 0, errors: [], first_ms: 0, latencies_ms: [], keys: {}, slow: [] }
  const fail = (what) => {
    report.failures++
    if (report.errors.length < 5) report.errors.push(what)
  }

  // one signed GET; counts the access key the gateway accepted and its security token's pair
  async function send (target) {
    let res, text
    try {
      res = await apigFetch(target)
      text = await res.text()
    } catch (e) {
      return fail(`${e.code || e.name}: ${e.message}`)
    }
    if (res.status !== 200) return fail(`HTTP ${res.status}: ${text}`)
    const headers = Object.fromEntries(JSON.parse(text).headers)
    const access = (headers.authorization || '').split('Access=').pop().split(',')[0]
    if (!(headers['x-security-token'] || '').startsWith(`rotation-token.${access}.`)) {
      return fail(`the security token of another key pair was sent with ${access}`)
    }
    report.keys[access] = (report.keys[access] || 0) + 1
  }

  const started = performance.now()
  await send(url)
  report.first_ms = performance.now() - started
  const deadline = started + Number(seconds) * 1000
  const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

  async function worker (number) {
    for (let n = 0; performance.now() < deadline; n++) {
      const start = performance.now()
      await send(`${url}&worker=${number}&n=${n}`)
      const ms = performance.now() - start
      report.requests++
      report.latencies_ms.push(ms)
      // slow: its start (ms since 1970), to set beside the metadata service's fetches
      if (ms > 100) report.slow.push([performance.timeOrigin + start, ms])
      await pause(Number(pauseMs))
    }
  }
  await Promise.all(Array.from({ length: Number(concurrency) }, (_, i) => worker(i)))
  console.log(JSON.stringify(report))
}

main(process.argv.slice(2)).catch((e) => {
  console.error(e)
  process.exit(1)
})
