/* test_cert — see test_cert.h. */
#include "test_cert.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static EVP_PKEY *s_key(const char *key_of)
{
    if (!key_of)
        return EVP_EC_gen("P-256");
    FILE *f = fopen(key_of, "r");
    EVP_PKEY *pkey = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    return pkey;
}

void rtm_test_cert_pair(char *cert, char *key, const char *cn, const char *key_of)
{
    EVP_PKEY *pkey = s_key(key_of);
    X509 *x = X509_new();
    if (!pkey || !x)
        abort();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_set_pubkey(x, pkey);
    X509_sign(x, pkey, EVP_sha256());
    int fc = mkstemp(cert), fk = mkstemp(key);
    FILE *c = fc >= 0 ? fdopen(fc, "w") : NULL, *k = fk >= 0 ? fdopen(fk, "w") : NULL;
    if (!c || !k || !PEM_write_X509(c, x) ||
        !PEM_write_PrivateKey(k, pkey, NULL, NULL, 0, NULL, NULL))
        abort();
    fclose(c);
    fclose(k);
    X509_free(x);
    EVP_PKEY_free(pkey);
}
