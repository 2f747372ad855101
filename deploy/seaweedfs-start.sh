#!/bin/sh
# Starts SeaweedFS as the festival's media store: master, volume server, filer and S3
# gateway in one process, with one S3 identity that may use the festival bucket and
# nothing else (seaweedfs-s3.json beside this script).
#
# The identity's keys come from FESTIVAL_S3_ACCESS_KEY_ID and FESTIVAL_S3_SECRET_ACCESS_KEY,
# the variables the app instances read, so they are set in one place and never written
# into the repository. Arguments after the script go to `weed server` (ports, say).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
data=${SEAWEEDFS_DIR:-/data}
config=${SEAWEEDFS_S3_CONFIG:-/tmp/festival-s3.json}

# The keys are put into JSON with sed, so characters that mean something to either are
# refused rather than quietly producing a store nobody can sign in to.
require_key() {
    case "$2" in
        "" | *[!A-Za-z0-9+/=._~-]*)
            echo "$1 must be set, using only letters, digits and + / = . _ ~ -" >&2
            exit 2
            ;;
    esac
}
require_key FESTIVAL_S3_ACCESS_KEY_ID "${FESTIVAL_S3_ACCESS_KEY_ID:-}"
require_key FESTIVAL_S3_SECRET_ACCESS_KEY "${FESTIVAL_S3_SECRET_ACCESS_KEY:-}"

umask 077
sed -e "s|@FESTIVAL_S3_ACCESS_KEY_ID@|${FESTIVAL_S3_ACCESS_KEY_ID}|" \
    -e "s|@FESTIVAL_S3_SECRET_ACCESS_KEY@|${FESTIVAL_S3_SECRET_ACCESS_KEY}|" \
    "$here/seaweedfs-s3.json" >"$config"

# Plain S3 only: no usage reports leave the festival's own store, and the table catalogues
# (Iceberg, Lance) the S3 gateway also offers stay off.
exec weed server -dir="$data" -volume.max=0 -master.volumeSizeLimitMB=1024 \
    -master.telemetry=false -s3 -s3.config="$config" -s3.port.iceberg=0 -s3.port.lance=0 \
    "$@"
