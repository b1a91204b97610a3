"""PDF signing with pyHanko: PAdES signatures whose key stays in the KeyStore."""
