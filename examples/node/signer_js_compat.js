// Code written for Huawei's signer.js runs unchanged on apig: only the require line differs.
//
//   node examples/node/signer_js_compat.js
'use strict'
const http = require('node:http')
const signer = require('apig-sdk/compat') // was: require('./signer')
const { verifyMiddleware } = require('apig-sdk')

const verify = verifyMiddleware({ keys: { QTWAOYTTINDUT2QVKYUC: 'MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc' } })
const server = http.createServer((req, res) => verify(req, res, () => res.end('accepted')))

server.listen(0, '127.0.0.1', () => {
  const sig = new signer.Signer()
  sig.Key = 'QTWAOYTTINDUT2QVKYUC'
  sig.Secret = 'MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc'

  const r = new signer.HttpRequest('POST', `http://127.0.0.1:${server.address().port}/app1?a=1`)
  r.headers = { 'Content-Type': 'application/json' }
  r.body = '{"a":1}'
  const opt = sig.Sign(r)
  console.log(opt.headers.Authorization)

  const req = http.request(opt, (res) => {
    let text = ''
    res.on('data', (chunk) => (text += chunk))
    res.on('end', () => {
      console.log(res.statusCode, text)
      server.close()
    })
  })
  req.on('error', (error) => {
    console.error(error)
    server.close()
    process.exitCode = 1
  })
  req.write(r.body)
  req.end()
})
