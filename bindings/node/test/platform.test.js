'use strict'
// On a platform without a prebuilt addon, loading apig-sdk throws an Error that names the platform
// and says how to build from source, not napi's bare "Cannot find native binding". Each case loads
// the installed package in a child process that claims another platform (fake-platform.js).
const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { spawnSync } = require('node:child_process')

/** `node --require fake-platform.js ARGS…` claiming `platform`/`arch`, in the package's folder. */
function nodeAs(platform, arch, args) {
  return spawnSync(process.execPath, ['--require', path.join(__dirname, 'fake-platform.js'), ...args], {
    cwd: path.join(__dirname, '..'),
    env: { ...process.env, APIG_FAKE_PLATFORM: platform, APIG_FAKE_ARCH: arch },
    encoding: 'utf8',
    timeout: 30_000,
  })
}

/** Requires apig-sdk as `platform`/`arch`; returns what it threw ({} when it loaded). */
function loadAs(platform, arch) {
  const report = 'console.log(JSON.stringify({ message: e.message, code: e.code, platform: e.platform, cause: Boolean(e.cause) }))'
  const child = nodeAs(platform, arch, ['-e', `try { require('apig-sdk'); console.log('{}') } catch (e) { ${report} }`])
  assert.equal(child.status, 0, child.stderr)
  return JSON.parse(child.stdout)
}

function assertFromSource(error) {
  assert.equal(error.code, 'ERR_APIG_NO_NATIVE_ADDON')
  assert.ok(error.cause, 'napi loader error kept as cause')
  assert.doesNotMatch(error.message, /^Cannot find/)
  assert.match(error.message, /cargo xtask build node/)
  assert.match(error.message, /docs\/node\.md/)
  assert.match(error.message, /npm install apig-wasm/)
}

const PREBUILT_LIST = 'linux-x64-gnu, linux-x64-musl, linux-arm64-gnu, linux-arm64-musl, darwin-arm64, darwin-x64, win32-x64-msvc, win32-arm64-msvc'

test('an architecture napi knows but no addon is built for: names it and how to build from source', () => {
  const error = loadAs('linux', 'riscv64')
  assert.match(error.platform, /^linux-riscv64-(gnu|musl)$/)
  assert.match(error.message, /^apig-sdk has no prebuilt native addon for this platform: linux-riscv64-(gnu|musl) \(process\.platform linux, process\.arch riscv64, /)
  assert.ok(error.message.includes(`Prebuilt addons exist for ${PREBUILT_LIST}.`), error.message)
  assertFromSource(error)

  // 32-bit Windows: napi's name for it, which no package has
  const windows = loadAs('win32', 'ia32')
  assert.equal(windows.platform, 'win32-ia32-msvc')
  assert.match(windows.message, /^apig-sdk has no prebuilt native addon for this platform: win32-ia32-msvc \(process\.platform win32, process\.arch ia32\)/)
  assertFromSource(windows)
})

test('macOS and Windows have prebuilt packages: when npm skipped one, the error names it', () => {
  // the darwin and win32 packages are optional dependencies of apig-sdk like the Linux ones
  for (const [platform, arch, name] of [
    ['darwin', 'arm64', 'darwin-arm64'],
    ['darwin', 'x64', 'darwin-x64'],
    ['win32', 'x64', 'win32-x64-msvc'],
    ['win32', 'arm64', 'win32-arm64-msvc'],
  ]) {
    const error = loadAs(platform, arch)
    assert.equal(error.platform, name)
    assert.ok(error.message.includes(`addon for ${name} (process.platform ${platform}, process.arch ${arch}) is not installed: it is the optional dependency apig-sdk-${name},`), error.message)
    assertFromSource(error)
  }
})

test('an operating system napi does not know: names it', () => {
  for (const [platform, arch] of [['sunos', 'x64'], ['freebsd', 'arm64']]) {
    const error = loadAs(platform, arch)
    assert.equal(error.platform, `${platform}-${arch}`)
    assert.match(error.message, new RegExp(`no prebuilt native addon for this platform: ${platform}-${arch} \\(process\\.platform ${platform}, process\\.arch ${arch}\\)`))
    assertFromSource(error)
  }
})

test('a prebuilt platform whose optional package npm skipped: names the package and how to reinstall', () => {
  // the installed main package carries no arm64 addon, and no apig-sdk-linux-arm64-* is installed
  const error = loadAs('linux', 'arm64')
  assert.match(error.platform, /^linux-arm64-(gnu|musl)$/)
  assert.match(error.message, new RegExp(`addon for ${error.platform} .* is not installed: it is the optional dependency apig-sdk-${error.platform},`))
  assert.match(error.message, /rm -rf node_modules package-lock\.json && npm install/)
  assertFromSource(error)
})

test('the ES module entry fails with the same error', () => {
  // a static import, as an application has it: the process stops with the message
  const child = nodeAs('linux', 'riscv64', ['--input-type=module', '-e', "import { Signer } from 'apig-sdk'"])
  assert.notEqual(child.status, 0)
  assert.match(child.stderr, /apig-sdk has no prebuilt native addon for this platform: linux-riscv64-/)
  assert.match(child.stderr, /code: 'ERR_APIG_NO_NATIVE_ADDON'/)
  assert.match(child.stderr, /cargo xtask build node/)
})

test('on this machine the addon loads', () => {
  assert.deepEqual(loadAs(process.platform, process.arch), {})
})
