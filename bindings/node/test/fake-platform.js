'use strict'
// Preloaded (`node --require`) by platform.test.js: makes this process claim the platform in
// APIG_FAKE_PLATFORM / APIG_FAKE_ARCH, as a machine apig-sdk has no addon for would.
if (process.env.APIG_FAKE_PLATFORM) Object.defineProperty(process, 'platform', { value: process.env.APIG_FAKE_PLATFORM })
if (process.env.APIG_FAKE_ARCH) Object.defineProperty(process, 'arch', { value: process.env.APIG_FAKE_ARCH })
