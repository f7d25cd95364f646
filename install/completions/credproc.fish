# fish completion for credproc.
# Install: copy to ~/.config/fish/completions/credproc.fish
# Static lists, kept in step with credproc's argparse parsers by tests/install/test_completions.py
# (every sub-command, option and choice, in all three shells).

function __credproc_environments
    set -l store $CREDPROC_ENV_DIR
    if test -z "$store"
        set -l config $XDG_CONFIG_HOME
        test -z "$config"; and set config $HOME/.config
        set store $config/credproc/environments
    end
    test -d $store; or return 0
    command find $store -mindepth 2 -maxdepth 3 -name '*.yaml' -type f 2>/dev/null \
        | string replace -r "^$store/" '' | string replace -r '\.yaml$' ''
end

function __credproc_profiles
    set -l config $AWS_CONFIG_FILE
    test -z "$config"; and set config $HOME/.aws/config
    test -f $config; or return 0
    string match -r -g '^\s*\[profile\s+([^\]]+)\]' <$config
end

function __credproc_words --description 'the words before the cursor, without credproc, options and their values'
    set -l skip 0
    for word in (commandline -opc)[2..-1]
        if test $skip = 1
            set skip 0
        else if contains -- $word -f --template --format --file --org --value --url --audience --account \
                --subject-attribute --partition --project-number --pool --provider --location --service-account \
                --path --profile --region --output --listen --timeout
            set skip 1
        else if not string match -q -- '-*' $word
            echo $word
        end
    end
end

function __credproc_at --description 'the words before the cursor (options left out) are exactly credproc $argv'
    set -l words (__credproc_words)
    test "$words" = "$argv"
end

function __credproc_in --description 'the words before the cursor (options left out) start with credproc $argv'
    set -l words (__credproc_words)
    set -l n (count $argv)
    test (count $words) -ge $n; or return 1
    test $n -eq 0; or test "$words[1..$n]" = "$argv"
end

complete -c credproc -f
complete -c credproc -s h -l help -d 'show help'
complete -c credproc -n '__credproc_at' -l version -d 'show the version'

complete -c credproc -n '__credproc_at' -a env -d 'manage and evaluate environments'
complete -c credproc -n '__credproc_at' -a process -d 'credential_process output'
complete -c credproc -n '__credproc_at' -a export -d 'credentials as shell variables'
complete -c credproc -n '__credproc_at' -a issuer -d 'the local OIDC issuer'
complete -c credproc -n '__credproc_at' -a install-profile -d 'add an AWS profile that uses credproc'
complete -c credproc -n '__credproc_at' -a uninstall-profile -d 'remove a profile credproc wrote'
complete -c credproc -n '__credproc_at' -a run -d "run a command with the environment's variables"
complete -c credproc -n '__credproc_at' -a serve -d "serve the environment's AWS credentials on a local endpoint"
complete -c credproc -n '__credproc_at' -a doctor -d 'check a profile or environment'
complete -c credproc -n '__credproc_at' -a cache -d 'list or clear cached credentials'
complete -c credproc -n '__credproc_at' -a login -d 'log in for an environment'
complete -c credproc -n '__credproc_at' -a logout -d 'forget a login'
complete -c credproc -n '__credproc_at' -a demo -d 'the whole path against a local fake AWS'

# env
complete -c credproc -n '__credproc_at env' -a init -d 'create an environment from a commented template'
complete -c credproc -n '__credproc_at env' -a ls -d 'list environments'
complete -c credproc -n '__credproc_at env' -a rm -d 'remove an environment'
complete -c credproc -n '__credproc_at env' -a open -d 'evaluate an environment (providers are called)'
complete -c credproc -n '__credproc_at env' -a get -d 'show an environment without calling providers'
complete -c credproc -n '__credproc_at env' -a check -d "print an environment's diagnostics"
complete -c credproc -n '__credproc_at env' -a set -d 'set one value'
complete -c credproc -n '__credproc_at env' -a edit -d 'edit an environment in $VISUAL / $EDITOR'
complete -c credproc -n '__credproc_at env' -a rotate -d 'rotate the secrets of an environment (fn::rotate)'
for sub in init rm open get check set edit rotate
    complete -c credproc -n "__credproc_at env $sub" -a '(__credproc_environments)'
end
complete -c credproc -n '__credproc_in env init' -l template -x -a 'local file env command github-actions login azure gcp' -d 'what the environment starts from'
complete -c credproc -n '__credproc_in env rm' -s y -l yes -d 'do not ask'
complete -c credproc -n '__credproc_in env open; or __credproc_in env rotate' -s f -l format -x -a 'json yaml string dotenv shell detailed' -d 'output format'
complete -c credproc -n '__credproc_in env open; or __credproc_in env rotate; or __credproc_in env get' -l show-secrets -d 'show secret values'
complete -c credproc -n '__credproc_in env open; or __credproc_in env rotate' -l partial -d 'with errors, print what evaluated'
complete -c credproc -n '__credproc_in env open; or __credproc_in env check' -l file -r -F -d 'a definition file'
complete -c credproc -n '__credproc_in env open; or __credproc_in env check' -l org -x -d 'with --file: the organization of its imports'
complete -c credproc -n '__credproc_in env get' -l value -x -a 'dotenv json detailed shell string' -d 'print just the value in this format'
complete -c credproc -n '__credproc_in env get' -l definition -d 'print just the definition'
complete -c credproc -n '__credproc_in env set' -l secret -d 'store as a secret'
complete -c credproc -n '__credproc_in env set' -l string -d 'store as a string'

# issuer
complete -c credproc -n '__credproc_at issuer' -a init -d 'create the signing key (once)'
complete -c credproc -n '__credproc_at issuer' -a show -d 'print the discovery document and JWKS to publish'
complete -c credproc -n '__credproc_at issuer' -a trust-policy -d 'print the cloud-side trust that admits exactly one environment'
complete -c credproc -n '__credproc_in issuer init' -l url -x -d 'the issuer URL'
complete -c credproc -n '__credproc_in issuer init; or __credproc_in issuer trust-policy' -l audience -x -d 'token audience'
complete -c credproc -n '__credproc_in issuer init' -l force -d 'replace an existing key'
complete -c credproc -n '__credproc_in issuer show' -l jwks-only -d 'print only the JWKS'
complete -c credproc -n '__credproc_in issuer show' -l discovery-only -d 'print only the discovery document'
complete -c credproc -n '__credproc_at issuer trust-policy' -a '(__credproc_environments)'
complete -c credproc -n '__credproc_in issuer trust-policy' -l cloud -x -a 'aws azure gcp' -d 'whose trust to print'
complete -c credproc -n '__credproc_in issuer trust-policy' -l account -x -d 'AWS account id'
complete -c credproc -n '__credproc_in issuer trust-policy' -l subject-attribute -x -d 'a subjectAttributes entry and its value'
complete -c credproc -n '__credproc_in issuer trust-policy' -l partition -x -d 'AWS partition'
complete -c credproc -n '__credproc_in issuer trust-policy' -l project-number -x -d 'GCP project number'
complete -c credproc -n '__credproc_in issuer trust-policy' -l pool -x -d 'GCP workload identity pool'
complete -c credproc -n '__credproc_in issuer trust-policy' -l provider -x -d 'GCP pool provider'
complete -c credproc -n '__credproc_in issuer trust-policy' -l location -x -d "GCP pool's location"
complete -c credproc -n '__credproc_in issuer trust-policy' -l service-account -x -d 'GCP service account'

# cache
complete -c credproc -n '__credproc_at cache' -a ls -d 'list cached entries with time left'
complete -c credproc -n '__credproc_at cache' -a clear -d 'remove cached entries'
complete -c credproc -n '__credproc_in cache ls' -l json -d 'print a JSON array'
complete -c credproc -n '__credproc_at cache clear' -a '(__credproc_environments)'

# the rest
for command in process export install-profile run serve login logout
    complete -c credproc -n "__credproc_at $command" -a '(__credproc_environments)'
end
complete -c credproc -n '__credproc_in process; or __credproc_in export; or __credproc_in serve' -l path -x -d 'property path'
complete -c credproc -n '__credproc_in process' -l auto-login -d 'log in on the terminal when a login is needed'
complete -c credproc -n '__credproc_in export' -l format -x -a 'process env env-no-export powershell windows-cmd fish dotenv json' -d 'output format'
complete -c credproc -n '__credproc_in install-profile' -l profile -x -d 'profile name'
complete -c credproc -n '__credproc_in install-profile' -l region -x -d 'also write region'
complete -c credproc -n '__credproc_in install-profile' -l output -x -d 'also write output (json, text, table, yaml)'
complete -c credproc -n '__credproc_in install-profile; or __credproc_in uninstall-profile' -l dry-run -d 'print the diff only'
complete -c credproc -n '__credproc_in install-profile' -l force -d 'override a conflict'
complete -c credproc -n '__credproc_at uninstall-profile' -a '(__credproc_profiles)'
complete -c credproc -n '__credproc_in uninstall-profile' -l all -d 'every profile credproc wrote'
complete -c credproc -n '__credproc_in run' -s i -l interactive -d 'do not mask output'
complete -c credproc -n '__credproc_in run; and test (count (__credproc_words)) -ge 2' -x -a '(__fish_complete_subcommand --fcs-skip=3)'
complete -c credproc -n '__credproc_in run' -l nested -d 'allow running inside another credproc run'
complete -c credproc -n '__credproc_in run' -l server -d 'a credentials endpoint instead of static keys'
complete -c credproc -n '__credproc_in serve' -l listen -x -d 'IP:PORT to listen on'
complete -c credproc -n '__credproc_in serve' -l allow-remote-insecure -d 'allow a non-loopback address'
complete -c credproc -n '__credproc_in serve' -l format -x -a 'env env-no-export powershell windows-cmd fish dotenv json' -d 'output format'
complete -c credproc -n '__credproc_in doctor' -l online -d 'also call STS'
complete -c credproc -n '__credproc_at doctor' -a '(__credproc_profiles) (__credproc_environments)'
complete -c credproc -n '__credproc_in login' -l device -d 'use the device authorization grant'
complete -c credproc -n '__credproc_in login' -l no-browser -d 'browser flow, but only print the URL'
complete -c credproc -n '__credproc_in login' -l timeout -x -d 'how long to wait for the browser redirect'
complete -c credproc -n '__credproc_in logout' -l all -d 'every saved login'
complete -c credproc -n '__credproc_in demo' -l keep -d 'keep the temporary home'
