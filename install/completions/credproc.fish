# fish completion for credproc.
# Install: copy to ~/.config/fish/completions/credproc.fish
# Static lists (keep in step with `credproc --help`).

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

set -l commands env process export issuer install-profile uninstall-profile run serve doctor cache login logout demo
complete -c credproc -f
complete -c credproc -l help -d 'show help'
complete -c credproc -n "not __fish_seen_subcommand_from $commands" -l version -d 'show the version'

complete -c credproc -n "not __fish_seen_subcommand_from $commands" -a env -d 'manage and evaluate environments'
complete -c credproc -n "not __fish_seen_subcommand_from $commands" -a process -d 'credential_process output'
complete -c credproc -n "not __fish_seen_subcommand_from $commands" -a export -d 'credentials as shell variables'
complete -c credproc -n "not __fish_seen_subcommand_from $commands" -a issuer -d 'the local OIDC issuer'
complete -c credproc -n "not __fish_seen_subcommand_from $commands" -a install-profile -d 'add an AWS profile that uses credproc'
complete -c credproc -n "not __fish_seen_subcommand_from $commands" -a uninstall-profile -d 'remove a profile credproc wrote'
complete -c credproc -n "not __fish_seen_subcommand_from $commands" -a run -d "run a command with the environment's variables"
complete -c credproc -n "not __fish_seen_subcommand_from $commands" -a serve -d "serve the environment's AWS credentials on a local endpoint"
complete -c credproc -n "not __fish_seen_subcommand_from $commands" -a doctor -d 'check a profile or environment'
complete -c credproc -n "not __fish_seen_subcommand_from $commands" -a cache -d 'list or clear cached credentials'
complete -c credproc -n "not __fish_seen_subcommand_from $commands" -a login -d 'log in for an environment'
complete -c credproc -n "not __fish_seen_subcommand_from $commands" -a logout -d 'forget a login'
complete -c credproc -n "not __fish_seen_subcommand_from $commands" -a demo -d 'the whole path against a local fake AWS'

# env
set -l env_subs init ls rm open get check set edit
complete -c credproc -n "__fish_seen_subcommand_from env; and not __fish_seen_subcommand_from $env_subs" -a "$env_subs"
complete -c credproc -n "__fish_seen_subcommand_from env; and __fish_seen_subcommand_from $env_subs" -a '(__credproc_environments)'
complete -c credproc -n "__fish_seen_subcommand_from open" -l format -x -a 'json yaml dotenv shell string'
complete -c credproc -n "__fish_seen_subcommand_from open get" -l show-secrets
complete -c credproc -n "__fish_seen_subcommand_from open" -l partial
complete -c credproc -n "__fish_seen_subcommand_from open" -l file -r -F
complete -c credproc -n "__fish_seen_subcommand_from set" -l secret
complete -c credproc -n "__fish_seen_subcommand_from set" -l string
complete -c credproc -n "__fish_seen_subcommand_from rm" -l yes

# issuer
set -l issuer_subs init show trust-policy
complete -c credproc -n "__fish_seen_subcommand_from issuer; and not __fish_seen_subcommand_from $issuer_subs" -a "$issuer_subs"
complete -c credproc -n "__fish_seen_subcommand_from issuer; and __fish_seen_subcommand_from init" -l url -x
complete -c credproc -n "__fish_seen_subcommand_from issuer; and __fish_seen_subcommand_from init" -l audience -x
complete -c credproc -n "__fish_seen_subcommand_from issuer; and __fish_seen_subcommand_from init" -l force
complete -c credproc -n "__fish_seen_subcommand_from trust-policy" -l account -x
complete -c credproc -n "__fish_seen_subcommand_from trust-policy" -l cloud -x -a "aws azure gcp"
complete -c credproc -n "__fish_seen_subcommand_from trust-policy" -a '(__credproc_environments)'

# cache
complete -c credproc -n "__fish_seen_subcommand_from cache; and not __fish_seen_subcommand_from ls clear" -a 'ls clear'
complete -c credproc -n "__fish_seen_subcommand_from cache; and __fish_seen_subcommand_from clear" -a '(__credproc_environments)'

# the rest
complete -c credproc -n "__fish_seen_subcommand_from process export install-profile run serve login logout" -a '(__credproc_environments)'
complete -c credproc -n "__fish_seen_subcommand_from process export" -l path -x
complete -c credproc -n "__fish_seen_subcommand_from export" -l format -x -a 'process env env-no-export powershell windows-cmd fish dotenv json'
complete -c credproc -n "__fish_seen_subcommand_from install-profile" -l profile -x
complete -c credproc -n "__fish_seen_subcommand_from install-profile" -l region -x
complete -c credproc -n "__fish_seen_subcommand_from install-profile" -l dry-run
complete -c credproc -n "__fish_seen_subcommand_from install-profile" -l force
complete -c credproc -n "__fish_seen_subcommand_from uninstall-profile" -a '(__credproc_profiles)'
complete -c credproc -n "__fish_seen_subcommand_from run" -s i -d 'do not mask output'
complete -c credproc -n "__fish_seen_subcommand_from run" -l server -d 'a credentials endpoint instead of static keys'
complete -c credproc -n "__fish_seen_subcommand_from serve" -l listen -d 'IP:PORT to listen on'
complete -c credproc -n "__fish_seen_subcommand_from serve" -l allow-remote-insecure -d 'allow a non-loopback address'
complete -c credproc -n "__fish_seen_subcommand_from doctor" -l online -d 'also call STS'
complete -c credproc -n "__fish_seen_subcommand_from doctor" -a '(__credproc_profiles) (__credproc_environments)'
complete -c credproc -n "__fish_seen_subcommand_from demo" -l keep -d 'keep the temporary home'
