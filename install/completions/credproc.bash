# bash completion for credproc.
# Install: source this file from ~/.bashrc, or copy it to
#   ~/.local/share/bash-completion/completions/credproc
# Static lists (keep in step with `credproc --help`; tests/install checks the top-level commands).

_credproc_environments() {
    # ORG/ENV and ORG/PROJECT/ENV names from the store (files <store>/ORG[/PROJECT]/ENV.yaml).
    local store=${CREDPROC_ENV_DIR:-${XDG_CONFIG_HOME:-$HOME/.config}/credproc/environments}
    [ -d "$store" ] || return 0
    (cd "$store" 2>/dev/null && find . -mindepth 2 -maxdepth 3 -name '*.yaml' -type f 2>/dev/null) \
        | sed -e 's|^\./||' -e 's|\.yaml$||'
}

_credproc_profiles() {
    local config=${AWS_CONFIG_FILE:-$HOME/.aws/config}
    [ -f "$config" ] || return 0
    sed -n 's/^[[:space:]]*\[profile[[:space:]]\{1,\}\([^]]*\)\].*/\1/p' "$config"
}

_credproc() {
    local cur prev words cword
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD-1]}
    local commands="env process export issuer install-profile uninstall-profile run serve doctor cache login logout demo"
    local command="" sub="" i
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "${COMP_WORDS[i]}" in
            -*) ;;
            *) if [ -z "$command" ]; then command=${COMP_WORDS[i]}; elif [ -z "$sub" ]; then sub=${COMP_WORDS[i]}; fi ;;
        esac
    done

    if [ -z "$command" ]; then
        COMPREPLY=($(compgen -W "$commands --help --version" -- "$cur"))
        return
    fi

    case "$prev" in
        --format)
            case "$command" in
                export) COMPREPLY=($(compgen -W "process env env-no-export powershell windows-cmd fish dotenv json" -- "$cur")) ;;
                *) COMPREPLY=($(compgen -W "json yaml dotenv shell string" -- "$cur")) ;;
            esac
            return ;;
        --file) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --url|--account|--region|--profile|--path|--audience) return ;;
    esac

    local opts="" want_env=0
    case "$command" in
        env)
            if [ -z "$sub" ]; then
                COMPREPLY=($(compgen -W "init ls rm open get check set edit" -- "$cur")); return
            fi
            want_env=1
            case "$sub" in
                init) opts="--template"
                    [ "$prev" = --template ] && { COMPREPLY=($(compgen -W "local file env command github-actions login azure gcp" -- "$cur")); return; } ;;
                open) opts="--format --show-secrets --partial --file" ;;
                get) opts="--show-secrets" ;;
                set) opts="--secret --string" ;;
                rm) opts="--yes" ;;
            esac ;;
        issuer)
            if [ -z "$sub" ]; then
                COMPREPLY=($(compgen -W "init show trust-policy" -- "$cur")); return
            fi
            case "$sub" in
                init) opts="--url --audience --force" ;;
                trust-policy) opts="--cloud --account --audience --subject-attribute --partition --project-number --pool --provider --location --service-account"; want_env=1
                    [ "$prev" = --cloud ] && { COMPREPLY=($(compgen -W "aws azure gcp" -- "$cur")); return; } ;;
            esac ;;
        cache)
            if [ -z "$sub" ]; then
                COMPREPLY=($(compgen -W "ls clear" -- "$cur")); return
            fi
            [ "$sub" = clear ] && want_env=1 ;;
        process) opts="--path"; want_env=1 ;;
        export) opts="--format --path"; want_env=1 ;;
        install-profile) opts="--profile --region --dry-run --force"; want_env=1 ;;
        uninstall-profile) COMPREPLY=($(compgen -W "$(_credproc_profiles)" -- "$cur")); return ;;
        run) opts="-i --nested --server"; want_env=1 ;;
        serve) opts="--path --listen --allow-remote-insecure --format"; want_env=1 ;;
        doctor) opts="--online"; COMPREPLY=($(compgen -W "--online $(_credproc_profiles) $(_credproc_environments)" -- "$cur")); return ;;
        login|logout) want_env=1 ;;
        demo) opts="--keep" ;;
    esac
    if [ "$want_env" = 1 ] && [[ "$cur" != -* ]]; then
        COMPREPLY=($(compgen -W "$(_credproc_environments)" -- "$cur"))
    else
        COMPREPLY=($(compgen -W "$opts --help" -- "$cur"))
    fi
}

complete -F _credproc credproc
