"""A boto3 program for the endpoint tests: `once` prints one get_caller_identity as JSON; `loop`
does so for every line read from stdin (a long-running program whose credentials must stay valid).
Prints the credentials' provider (botocore's method name) and access key id, never the secret parts."""
import datetime
import json
import sys
import time

import boto3
from botocore import credentials as botocore_credentials
from dateutil.tz import tzlocal


def follow_time_time() -> None:
    """botocore decides when to refresh by datetime.now(); the tests' fake clock (tests/support/fakeclock)
    moves time.time(): make the refresh decision read time.time() (the same instant without a fake clock)."""
    original = botocore_credentials.RefreshableCredentials.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self._time_fetcher = lambda: datetime.datetime.fromtimestamp(time.time(), tzlocal())

    botocore_credentials.RefreshableCredentials.__init__ = init


def identity(session, client) -> dict:
    answer = client.get_caller_identity()
    credentials = session.get_credentials()
    frozen = credentials.get_frozen_credentials()
    return {"Arn": answer["Arn"], "Account": answer["Account"], "method": credentials.method,
            "AccessKeyId": frozen.access_key}


def main() -> None:
    follow_time_time()
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
