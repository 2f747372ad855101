#!/bin/sh
# Creates the festival's bucket in SeaweedFS. A bucket already there counts as success,
# so the one-shot service that runs this can run on every start.
#
#   seaweedfs-create-bucket.sh [MASTER] [BUCKET]      (defaults: s3:9333 festival)
set -eu

master=${1:-s3:9333}
bucket=${2:-festival}

if echo "s3.bucket.list" | weed shell -master="$master" |
    awk -v bucket="$bucket" '$1 == bucket { found = 1 } END { exit !found }'; then
    echo "The bucket $bucket is there."
else
    echo "s3.bucket.create -name $bucket" | weed shell -master="$master"
    echo "Made the bucket $bucket."
fi
