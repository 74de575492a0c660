// run.js — starts s3rver for tests/s3/s3.sh through its library API.
//
//   node run.js HOME DATA_DIR PORT_FILE ACCESS_KEY SECRET_KEY BUCKET
//
// Why not s3rver's own command line: the 5.0.0 package names bin/s3rver.js as its binary but
// does not ship it, and the command line has no option for credentials. s3rver checks every
// SigV4 signature against the key pairs of its one built-in account, which has the pair
// S3RVER/S3RVER; here that pair is revoked and ACCESS_KEY/SECRET_KEY is the only one accepted.
//
// It listens on 127.0.0.1 on a port the kernel picks and writes that port to PORT_FILE (through a
// rename, so a reader never sees half a number) once it accepts connections and BUCKET exists.
'use strict'
const fs = require('node:fs')
const path = require('node:path')

const [home, dataDir, portFile, accessKey, secretKey, bucket] = process.argv.slice(2)
if (!bucket) {
  console.error('usage: node run.js HOME DATA_DIR PORT_FILE ACCESS_KEY SECRET_KEY BUCKET')
  process.exit(2)
}
const lib = path.join(home, 'node_modules', '@20minutes', 's3rver', 'lib')
const S3rver = require(path.join(lib, 's3rver.js'))
const { DUMMY_ACCOUNT } = require(path.join(lib, 'models', 'account.js'))

DUMMY_ACCOUNT.revokeAccessKey('S3RVER')
DUMMY_ACCOUNT.createKeyPair(accessKey, secretKey)

fs.mkdirSync(dataDir, { recursive: true })
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  directory: dataDir,
  silent: false,
  configureBuckets: [{ name: bucket, configs: [] }],
})

server
  .run()
  .then(({ address, port }) => {
    fs.writeFileSync(`${portFile}.tmp`, `${port}\n`)
    fs.renameSync(`${portFile}.tmp`, portFile)
    console.info(`s3rver listening on ${address}:${port}, bucket ${bucket}, access key ${accessKey}`)
  })
  .catch((err) => {
    console.error(`s3rver did not start: ${err.stack || err}`)
    process.exit(1)
  })

// SIGTERM from s3.sh stop: close the listener, then leave.
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    server.close().finally(() => process.exit(0))
    setTimeout(() => process.exit(0), 2000).unref()
  })
}
