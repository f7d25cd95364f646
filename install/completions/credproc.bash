# bash completion for credproc.
# Install: source this file from ~/.bashrc, or copy it to
#   ~/.local/share/bash-completion/completions/credproc
# Static lists, kept in step with credproc's argparse parsers by tests/install/test_completions.py
# (every sub-command, option and choice, in all three shells).

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
    local cur prev
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

    # Commands with sub-commands: the sub-command first.
    local subs=""
    case "$command" in
        env) subs="init ls rm open get check set edit rotate" ;;
        issuer) subs="init show trust-policy" ;;
        cache) subs="ls clear" ;;
    esac
    if [ -n "$subs" ] && [ -z "$sub" ]; then
        [[ "$cur" == -* ]] && subs="--help"
        COMPREPLY=($(compgen -W "$subs" -- "$cur"))
        return
    fi
    local key=$command
    [ -n "$subs" ] && key="$command $sub"

    # run ORG/ENV -- COMMAND ARGS...: a command name, then files.
    if [ "$command" = run ]; then
        for ((i = 2; i < COMP_CWORD; i++)); do
            [ "${COMP_WORDS[i]}" = -- ] || continue
            if [ $((i + 1)) -eq "$COMP_CWORD" ]; then
                COMPREPLY=($(compgen -c -- "$cur"))
            else
                COMPREPLY=($(compgen -f -- "$cur"))
            fi
            return
        done
    fi

    # The value of an option (the choices argparse accepts; nothing for free-form values).
    local open_formats="json yaml string dotenv shell detailed"
    local out_formats="env env-no-export powershell windows-cmd fish dotenv json"
    case "$key:$prev" in
        "env init:--template") COMPREPLY=($(compgen -W "local file env command github-actions login azure gcp" -- "$cur")); return ;;
        "env open:--format"|"env open:-f"|"env rotate:--format"|"env rotate:-f")
            COMPREPLY=($(compgen -W "$open_formats" -- "$cur")); return ;;
        "env get:--value") COMPREPLY=($(compgen -W "dotenv json detailed shell string" -- "$cur")); return ;;
        "export:--format") COMPREPLY=($(compgen -W "process $out_formats" -- "$cur")); return ;;
        "serve:--format") COMPREPLY=($(compgen -W "$out_formats" -- "$cur")); return ;;
        "issuer trust-policy:--cloud") COMPREPLY=($(compgen -W "aws azure gcp" -- "$cur")); return ;;
        *:--file) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        *:--org|*:--path|*:--url|*:--audience|*:--account|*:--subject-attribute|*:--partition|\
        *:--project-number|*:--pool|*:--provider|*:--location|*:--service-account|*:--profile|*:--region|\
        *:--output|*:--listen|*:--timeout) return ;;
    esac

    # Options, and what the positional arguments are (environments, profiles or nothing).
    local opts="" args=""
    case "$key" in
        "env init") opts="--template"; args=env ;;
        "env ls") ;;
        "env rm") opts="--yes -y"; args=env ;;
        "env open") opts="--format -f --show-secrets --partial --file --org"; args=env ;;
        "env get") opts="--value --definition --show-secrets"; args=env ;;
        "env check") opts="--file --org"; args=env ;;
        "env set") opts="--secret --string"; args=env ;;
        "env edit") args=env ;;
        "env rotate") opts="--format -f --show-secrets --partial"; args=env ;;
        "issuer init") opts="--url --audience --force" ;;
        "issuer show") opts="--jwks-only --discovery-only" ;;
        "issuer trust-policy") opts="--cloud --account --audience --subject-attribute --partition --project-number --pool --provider --location --service-account"; args=env ;;
        "cache ls") opts="--json" ;;
        "cache clear") args=env ;;
        process) opts="--path --auto-login"; args=env ;;
        export) opts="--path --format"; args=env ;;
        install-profile) opts="--profile --region --output --dry-run --force"; args=env ;;
        uninstall-profile) opts="--all --dry-run"; args=profile ;;
        run) opts="-i --interactive --nested --server"; args=env ;;
        serve) opts="--path --listen --allow-remote-insecure --format"; args=env ;;
        doctor) opts="--online"; args="profile env" ;;
        login) opts="--device --no-browser --timeout"; args=env ;;
        logout) opts="--all"; args=env ;;
        demo) opts="--keep" ;;
    esac
    if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "$opts --help" -- "$cur"))
        return
    fi
    local candidates=""
    case " $args " in *" profile "*) candidates="$candidates $(_credproc_profiles)" ;; esac
    case " $args " in *" env "*) candidates="$candidates $(_credproc_environments)" ;; esac
    COMPREPLY=($(compgen -W "$candidates" -- "$cur"))
}

complete -F _credproc credproc
