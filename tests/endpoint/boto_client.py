"""A boto3 program for the endpoint tests: `once` prints one get_caller_identity as JSON; `loop`
does so for every line read from stdin (a long-running program whose credentials must stay valid).
Prints the credentials' provider (botocore's method name) and access key id, never the secret parts."""
import json
import sys

import boto3


def identity(session, client) -> dict:
    answer = client.get_caller_identity()
    credentials = session.get_credentials()
    frozen = credentials.get_frozen_credentials()
    return {"Arn": answer["Arn"], "Account": answer["Account"], "method": credentials.method,
            "AccessKeyId": frozen.access_key}


def main() -> None:
    session = boto3.Session()
    client = session.client("sts")
    if sys.argv[1] == "once":
        print(json.dumps(identity(session, client)))
        return
    for line in sys.stdin:
        if line.strip() == "quit":
            return
        print(json.dumps(identity(session, client)), flush=True)


if __name__ == "__main__":
    main()
