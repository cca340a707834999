// Node clients against the reference gateway's demo: signedFetch and the axios interceptor of `apig`.
//
//   node examples/interop/node_client.cjs http://127.0.0.1:8080
//
// Run by `cargo xtask ci` (the interop step) against a running `apig-gateway`.
'use strict'

const { Signer, signedFetch, axiosInterceptor } = require('apig-sdk')
const axios = require('axios')

const KEY = 'demo-access-key'
const SECRET = 'demo-secret-key'

async function main (base) {
  let failures = 0
  const check = (name, ok, detail = '') => {
    console.log(`${ok ? 'ok  ' : 'FAIL'} node: ${name}${ok ? '' : ` (${detail})`}`)
    if (!ok) failures++
  }
  const apigFetch = signedFetch(new Signer({ key: KEY, secret: SECRET }))

  let res = await apigFetch(`${base}/demo/echo?hello=world&q=a%20b`)
  let text = await res.text()
  check('signedFetch GET with a query', res.status === 200 && JSON.parse(text).method === 'GET', text)

  res = await apigFetch(`${base}/demo/echo`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'ünïcode', n: 1 })
  })
  text = await res.text()
  check('signedFetch POST JSON', res.status === 200 && JSON.parse(text).body.includes('ünïcode'), text)

  const client = axios.create({ validateStatus: () => true })
  client.interceptors.request.use(axiosInterceptor(new Signer({ key: KEY, secret: SECRET })))
  const got = await client.post(`${base}/demo/echo`, { via: 'axios' })
  check('axios interceptor POST', got.status === 200, JSON.stringify(got.data))

  const wrong = signedFetch(new Signer({ key: KEY, secret: 'not-the-secret' }))
  res = await wrong(`${base}/demo/echo`)
  const body = await res.json()
  check('wrong secret: 401 APIG.0303 with the gateway\'s canonical request',
    res.status === 401 && body.error_code === 'APIG.0303' && body.error_msg.includes('canonicalRequest:GET|/demo/echo/|'),
    JSON.stringify(body))
  return failures
}

main(process.argv[2].replace(/\/$/, '')).then((failures) => { process.exitCode = failures ? 1 : 0 }, (err) => {
  console.error(err)
  process.exitCode = 1
})
