"""A long-running Azure SDK program for `credproc run` (tests/azure/test_azure_run.py): it gets a
token with azure-identity's WorkloadIdentityCredential (AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID,
AZURE_TENANT_ID, AZURE_AUTHORITY_HOST from its environment), waits until run has replaced the token
file, and gets another one. It prints digests of what it got, never a token."""
import hashlib
import os
import sys
import time

from azure.identity import WorkloadIdentityCredential

SCOPE = "https://management.azure.com/.default"


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


path = os.environ["AZURE_FEDERATED_TOKEN_FILE"]
credential = WorkloadIdentityCredential(disable_instance_discovery=True)
first = credential.get_token(SCOPE).token
with open(path) as f:
    before = f.read()
print("first", digest(first), oct(os.stat(path).st_mode & 0o777), oct(os.stat(os.path.dirname(path)).st_mode & 0o777),
      flush=True)
deadline = time.monotonic() + 90  # the test moves the clock; run re-reads it every second
while True:
    with open(path) as f:
        now = f.read()
    if now != before:
        break
    if time.monotonic() > deadline:
        print("the token file was never refreshed", flush=True)
        sys.exit(3)
    time.sleep(0.05)
second = credential.get_token(SCOPE).token
print("second", digest(second), flush=True)
print("file", now, flush=True)  # a secret: masked by run
print("path", path, flush=True)
