"""PDF signing with pyHanko: PAdES signatures whose key stays in the KeyStore."""

import warnings

# pyHanko imports cryptography's DSA key types, which cryptography 51 deprecates; we never make
# or accept DSA keys. Without this every CLI command would start with that warning on stderr.
warnings.filterwarnings("ignore", message="DSA is deprecated", module=r"pyhanko(\.|$)")
