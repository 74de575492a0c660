/*
 * s3_verify.h — `ferry archive verify` (s3_verify.c), linked into the ferry
 * binary from the ferry_s3 library.
 */
#ifndef FERRY_S3_VERIFY_H
#define FERRY_S3_VERIFY_H

/* argv[0] is "verify". Returns the exit status (0 sound, 1 problems, 2 could not read). */
int s3_verify_main(int argc, char **argv);

#endif /* FERRY_S3_VERIFY_H */
