// ES module entry point of apig/compat.
import compat from './lib/compat.js'

export const { HttpRequest, Signer } = compat
export default compat
