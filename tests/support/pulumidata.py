"""The environment the stand-in Pulumi service (pulumiservice.py) holds for tests/pulumi: its YAML
definition (an aws-login with a 45-minute duration) and the values an open of it yields."""
TOKEN = "pul-0123456789abcdef0123456789abcdef01234567"
OTHER_TOKEN = "pul-fedcba9876543210fedcba9876543210fedcba98"
REF = "pulumi:acme/proj/dev"
KEY_ID = "ASIAPULUMISTANDIN001"
SECRET_KEY = "pulumi/stand-in/secret/access/key/0001"
SESSION_TOKEN = "FwoGZXIvYXdzEPulumiStandInSessionToken0001"
DB_PASSWORD = "correct-horse-battery-staple"
DURATION_SECONDS = 45 * 60

DEFINITION = """imports:
  - shared
values:
  aws:
    login:
      fn::open::aws-login:
        oidc:
          roleArn: arn:aws:iam::123456789012:role/esc-dev
          sessionName: pulumi-esc
          duration: 45m
  db:
    password:
      fn::secret: correct-horse-battery-staple
  environmentVariables:
    AWS_ACCESS_KEY_ID: ${aws.login.accessKeyId}
    AWS_SECRET_ACCESS_KEY: ${aws.login.secretAccessKey}
    AWS_SESSION_TOKEN: ${aws.login.sessionToken}
    DB_PASSWORD: ${db.password}
    GREETING: hello from pulumi
"""
SHARED = """values:
  region: eu-central-1
"""
LOGIN = {"accessKeyId": KEY_ID, "secretAccessKey": SECRET_KEY, "sessionToken": SESSION_TOKEN}
VALUES = {
    "aws": {"login": LOGIN},
    "db": {"password": DB_PASSWORD},
    "region": "eu-central-1",
    "replicas": 3,
    "environmentVariables": {"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
                             "AWS_SESSION_TOKEN": SESSION_TOKEN, "DB_PASSWORD": DB_PASSWORD,
                             "GREETING": "hello from pulumi"},
}
SECRETS = ("aws.login.secretAccessKey", "aws.login.sessionToken", "db.password",
           "environmentVariables.AWS_SECRET_ACCESS_KEY", "environmentVariables.AWS_SESSION_TOKEN",
           "environmentVariables.DB_PASSWORD")
