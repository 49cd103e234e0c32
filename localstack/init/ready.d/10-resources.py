#!/usr/bin/env python3
"""Create the queues and buckets declared in localstack/resources.json (idempotent).

Runs two ways:
  * as a LocalStack init hook (ready.d): LocalStack exec()s it inside its own Python,
    so __file__/__name__ may be missing and sys.argv is LocalStack's own;
  * standalone (moto fallback, manual use): python 10-resources.py http://127.0.0.1:4566

Endpoint: argv[1] (if a URL) > $REPSTREAM_AWS_ENDPOINT > $AWS_ENDPOINT_URL > $GATEWAY_LISTEN
> http://127.0.0.1:4566. resources.json: $REPSTREAM_RESOURCES > next to this script >
the repo's localstack/ folder > well-known LocalStack locations.
"""
import json
import os
import sys
import time

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError

REGION = "us-east-1"


def _endpoint():
    if len(sys.argv) > 1 and sys.argv[1].startswith("http"):
        return sys.argv[1]
    for var in ("REPSTREAM_AWS_ENDPOINT", "AWS_ENDPOINT_URL"):
        if os.environ.get(var):
            return os.environ[var]
    listen = os.environ.get("GATEWAY_LISTEN", "").split(",")[0].strip()
    if listen:
        host, _, port = listen.rpartition(":")
        if host in ("", "0.0.0.0", "::", "[::]"):
            host = "127.0.0.1"
        return f"http://{host}:{port or 4566}"
    return "http://127.0.0.1:4566"


def _resources_path():
    candidates = []
    if os.environ.get("REPSTREAM_RESOURCES"):
        candidates.append(os.environ["REPSTREAM_RESOURCES"])
    here = globals().get("__file__")
    if here:
        d = os.path.dirname(os.path.abspath(here))
        candidates += [os.path.join(d, "resources.json"), os.path.join(d, "..", "..", "resources.json")]
    fs_root = os.environ.get("FILESYSTEM_ROOT")
    if fs_root:
        candidates.append(os.path.join(fs_root, "etc/localstack/init/ready.d/resources.json"))
    candidates += ["/etc/localstack/init/ready.d/resources.json", "/etc/localstack/resources.json"]
    for c in candidates:
        if os.path.isfile(c):
            return c
    raise FileNotFoundError(f"resources.json not found (tried {candidates})")


def _log(msg):
    print(f"[repstream-init] {msg}", flush=True)


def _ensure_queue(sqs, name, attrs):
    try:
        url = sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
    except ClientError as e:
        # exists with different attributes: bring it in line instead of failing
        if e.response.get("Error", {}).get("Code") not in ("QueueAlreadyExists", "QueueNameExists"):
            raise
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        mutable = {k: v for k, v in attrs.items() if k != "FifoQueue"}
        if mutable:
            sqs.set_queue_attributes(QueueUrl=url, Attributes=mutable)
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    _log(f"queue {name} ready ({arn})")
    return arn


def _fifo_attrs(fifo):
    return {"FifoQueue": "true", "ContentBasedDeduplication": "false"} if fifo else {}


def main():
    endpoint = _endpoint()
    path = _resources_path()
    with open(path, encoding="utf-8") as f:
        spec = json.load(f)
    _log(f"creating resources from {path} at {endpoint}")

    session = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION
    )
    cfg = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3})
    sqs = session.client("sqs", endpoint_url=endpoint, config=cfg)
    s3 = session.client("s3", endpoint_url=endpoint, config=cfg)

    # the emulator may still be binding its port when run standalone right after start
    deadline = time.time() + 30
    while True:
        try:
            sqs.list_queues()
            break
        except (EndpointConnectionError, ConnectionError):
            if time.time() > deadline:
                raise
            time.sleep(0.2)

    for q in spec.get("queues", []):
        fifo = bool(q.get("fifo", False))
        attrs = _fifo_attrs(fifo)
        attrs["VisibilityTimeout"] = str(q.get("visibility_timeout", 30))
        # encrypted at rest with SQS-managed keys, as production declares it
        sse = {"SqsManagedSseEnabled": "true"} if q.get("sse_sqs") else {}
        attrs.update(sse)
        if q.get("dlq"):
            # DLQ first (same FIFO-ness and encryption as its source queue), kept for 14 days
            dlq_attrs = _fifo_attrs(fifo)
            dlq_attrs.update(sse)
            dlq_attrs["MessageRetentionPeriod"] = "1209600"
            dlq_arn = _ensure_queue(sqs, q["dlq"], dlq_attrs)
            attrs["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": int(q.get("max_receive_count", 5))}
            )
        _ensure_queue(sqs, q["name"], attrs)

    for bucket in spec.get("buckets", []):
        try:
            s3.create_bucket(Bucket=bucket)  # us-east-1: no LocationConstraint
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise
        _log(f"bucket {bucket} ready")
    _log("done")


# Not guarded by `if __name__ == "__main__"`: LocalStack exec()s hooks without that name.
main()
