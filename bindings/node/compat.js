'use strict'
// apig/compat: a drop-in for Huawei's signer.js (see lib/compat.js).
module.exports = require('./lib/compat.js')
