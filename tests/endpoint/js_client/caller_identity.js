// The AWS SDK for JavaScript v3 as a client of credproc's endpoint: STS GetCallerIdentity with the
// default provider chain ("chain") or fromContainerMetadata ("container"); prints JSON (no secrets).
const { STSClient, GetCallerIdentityCommand } = require("@aws-sdk/client-sts");
const { fromContainerMetadata } = require("@aws-sdk/credential-providers");

async function main(mode) {
  const options = mode === "container" ? { credentials: fromContainerMetadata() } : {};
  const client = new STSClient(options);
  const answer = await client.send(new GetCallerIdentityCommand({}));
  const credentials = await client.config.credentials();
  console.log(JSON.stringify({ Arn: answer.Arn, Account: answer.Account, AccessKeyId: credentials.accessKeyId }));
}

main(process.argv[2] || "chain").catch((err) => {
  console.error(`${err.name}: ${err.message}`);
  process.exit(1);
});
