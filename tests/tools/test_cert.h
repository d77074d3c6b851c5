/* test_cert — certificates made by tests at run time (nothing checked in): a self-signed
 * P-256 certificate and its key, written as PEM files like the node reads. */
#ifndef RTM_TEST_CERT_H
#define RTM_TEST_CERT_H

/* Writes a certificate for common name cn, valid for a day, to a new temporary file and its
 * key to another; cert and key are mkstemp templates ("...XXXXXX"), filled with the names.
 * key_of: when not NULL, a PEM key file to certify instead of a fresh key. Aborts on failure. */
void rtm_test_cert_pair(char *cert, char *key, const char *cn, const char *key_of);

#endif
