// The ES module entry points export the same objects as the CommonJS ones.
import test from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import apig, { ApigError, ERROR_CODES, Signer, Verifier, signedFetch, axiosInterceptor, verifyMiddleware } from 'apig-sdk'
import compat, { HttpRequest, Signer as CompatSigner } from 'apig-sdk/compat'

const require = createRequire(import.meta.url)

test('ESM and CommonJS share one module instance', () => {
  const cjs = require('apig-sdk')
  assert.equal(Signer, cjs.Signer)
  assert.equal(Verifier, cjs.Verifier)
  assert.equal(ApigError, cjs.ApigError)
  assert.equal(ERROR_CODES, cjs.ERROR_CODES)
  assert.equal(apig, cjs)
  for (const f of [signedFetch, axiosInterceptor, verifyMiddleware]) assert.equal(typeof f, 'function')
  assert.equal(compat, require('apig-sdk/compat'))
  assert.equal(HttpRequest, compat.HttpRequest)
  assert.equal(CompatSigner, compat.Signer)
})

test('an ESM user can sign and catch ApigError', () => {
  const signer = new Signer({ key: 'AK', secret: 'SK' })
  assert.match(signer.sign({ method: 'GET', url: 'https://h/' }).signature, /^[0-9a-f]{64}$/)
  assert.throws(() => signer.sign({ method: 'GET', url: 'h' }), ApigError)
})
