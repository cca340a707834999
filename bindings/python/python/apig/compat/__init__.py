"""Drop-in replacements for Huawei's published SDK modules (``apig.compat.signer``)."""
