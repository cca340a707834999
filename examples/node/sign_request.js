// Sign a request by hand: the headers to add, and the canonical request to debug a 401 with.
//
//   node examples/node/sign_request.js
'use strict'
const { ApigError, Signer, Verifier } = require('apig-sdk')

const signer = new Signer({ key: 'AKTESTEXAMPLE0000001', secret: 'sk-EXAMPLE-0123456789abcdefghijklmnopqrstuv' })
const signed = signer.sign({
  method: 'POST',
  url: 'https://api.example.com/v1/items',
  headers: { 'Content-Type': 'application/json', 'X-Sdk-Date': '20240403T101500Z' },
  body: '{"name":"test","count":1}',
})
for (const [name, value] of Object.entries(signed.headers)) console.log(`${name}: ${value}`)
console.log('--- canonical request ---')
console.log(signed.canonicalRequest)

// A server checks it (here at a fixed clock, one minute after signing)…
const verifier = new Verifier({ keys: { AKTESTEXAMPLE0000001: 'sk-EXAMPLE-0123456789abcdefghijklmnopqrstuv' } })
const received = {
  method: 'POST',
  url: '/v1/items',
  headers: { 'Content-Type': 'application/json', 'X-Sdk-Date': '20240403T101500Z', ...signed.headers },
  body: '{"name":"test","count":1}',
  now: Date.UTC(2024, 3, 3, 10, 16, 0),
}
console.log('verified:', verifier.verify(received).accessKey)

// …and a tampered body is refused with the verifier's own canonical request.
try {
  verifier.verify({ ...received, body: '{"name":"evil","count":1}' })
} catch (error) {
  if (!(error instanceof ApigError)) throw error
  console.log(`rejected: ${error.code} (HTTP ${error.status})`)
}
