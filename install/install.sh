#!/usr/bin/env bash
# Install credproc for the current user, in its own virtual environment, with `credproc` on PATH.
#
#   install/install.sh [options] [SOURCE]     install (or upgrade) from SOURCE
#   install/install.sh --uninstall            remove exactly what an earlier run installed
#
# SOURCE is anything `pip install` accepts (a checkout, a wheel, an sdist, a requirement such as
# `credproc==0.1.0`). Default: the checkout this script lives in.
#
# Options:
#   --python PY       interpreter for the virtual environment (default: $PYTHON, else python3)
#   --no-pipx         do not use pipx even when it is installed
#   --pip-args ARGS   extra arguments for pip, split on spaces (e.g. "--no-index --find-links DIR")
#   --extras LIST     install optional extras, e.g. "demo" (pulls moto and the AWS CLI for `credproc demo`)
#   --force           replace a `credproc` in the bin directory that this script did not install
#   --uninstall       remove what an earlier run installed, and nothing else
#
# Where things go (override with the environment variables in brackets):
#   virtual environment  ~/.local/share/credproc/venv   [CREDPROC_INSTALL_DIR=~/.local/share/credproc]
#   command symlink      ~/.local/bin/credproc          [CREDPROC_BIN_DIR=~/.local/bin]
#   record of the above  ~/.local/share/credproc/install-manifest
# With pipx, pipx owns the virtual environment and the command; only the manifest is ours.
#
# Safe to run twice: a second run upgrades in place and changes nothing else.
set -euo pipefail

say() { printf 'credproc-install: %s\n' "$*"; }
die() { printf 'credproc-install: error: %s\n' "$*" >&2; exit 1; }

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DATA_HOME=${XDG_DATA_HOME:-$HOME/.local/share}
INSTALL_DIR=${CREDPROC_INSTALL_DIR:-$DATA_HOME/credproc}
BIN_DIR=${CREDPROC_BIN_DIR:-$HOME/.local/bin}
VENV_DIR=$INSTALL_DIR/venv
MANIFEST=$INSTALL_DIR/install-manifest
LINK=$BIN_DIR/credproc

PYTHON_BIN=${PYTHON:-python3}
USE_PIPX=1
PIP_ARGS=""
EXTRAS=""
FORCE=0
ACTION=install
SOURCE=""

while [ $# -gt 0 ]; do
    case "$1" in
        --python) [ $# -ge 2 ] || die "--python needs a value"; PYTHON_BIN=$2; shift 2 ;;
        --no-pipx) USE_PIPX=0; shift ;;
        --pip-args) [ $# -ge 2 ] || die "--pip-args needs a value"; PIP_ARGS=$2; shift 2 ;;
        --extras) [ $# -ge 2 ] || die "--extras needs a value"; EXTRAS=$2; shift 2 ;;
        --force) FORCE=1; shift ;;
        --uninstall) ACTION=uninstall; shift ;;
        -h|--help) sed -n '2,24p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) die "unknown option $1 (see --help)" ;;
        *) [ -z "$SOURCE" ] || die "only one SOURCE may be given"; SOURCE=$1; shift ;;
    esac
done

# --- the manifest: one `key=value` per line, written atomically -------------------------------
manifest_get() {  # manifest_get KEY -> value or empty
    [ -f "$MANIFEST" ] || return 0
    sed -n "s/^$1=//p" "$MANIFEST" | head -n 1
}

CREATED_DIRS=""  # directories this run created, outermost first, separated by ':'

mkdir_tracked() {  # mkdir -p that remembers each directory it had to create
    local dir=$1 missing=""
    while [ ! -d "$dir" ]; do missing="$dir:$missing"; dir=$(dirname "$dir"); done
    mkdir -p "$1"
    CREATED_DIRS="$CREATED_DIRS$missing"
}

write_manifest() {  # write_manifest KEY=VALUE...
    mkdir_tracked "$INSTALL_DIR"
    local tmp="$MANIFEST.tmp.$$"
    printf '%s\n' "# written by credproc's install/install.sh; used by --uninstall" "$@" >"$tmp"
    mv -f "$tmp" "$MANIFEST"
}

# --- install -----------------------------------------------------------------------------------
default_source() {
    local root
    root=$(cd "$SCRIPT_DIR/.." && pwd)
    [ -f "$root/pyproject.toml" ] || die "no SOURCE given and $root is not a credproc checkout"
    printf '%s\n' "$root"
}

with_extras() {  # a pip requirement for SOURCE with [EXTRAS] when asked
    if [ -n "$EXTRAS" ]; then
        printf '%s[%s]\n' "$1" "$EXTRAS"
    else
        printf '%s\n' "$1"
    fi
}

path_note() {
    case ":$PATH:" in
        *":$1:"*) ;;
        *) say "note: $1 is not on your PATH; add this line to your shell's startup file:"
           say "    export PATH=\"$1:\$PATH\"" ;;
    esac
}

install_with_pipx() {
    local req=$1
    say "using pipx ($(command -v pipx))"
    # --force makes a second run reinstall in place instead of failing with "already installed".
    # shellcheck disable=SC2086
    pipx install --force --python "$PYTHON_BIN" ${PIP_ARGS:+--pip-args "$PIP_ARGS"} "$req"
    mkdir_tracked "$INSTALL_DIR"  # before the manifest line below reads CREATED_DIRS
    write_manifest "method=pipx" "package=credproc" "created_dirs=$(manifest_get created_dirs)$CREATED_DIRS"
    local pipx_bin=${PIPX_BIN_DIR:-$HOME/.local/bin}
    path_note "$pipx_bin"
    say "installed: $pipx_bin/credproc (pipx)"
}

record_venv_install() {  # record_venv_install CREATED_VENV(yes|no|"")
    # Directories created by an earlier run stay on the list, so --uninstall removes them too.
    local dirs dir
    dirs=$(manifest_get created_dirs)
    local IFS=:
    for dir in $CREATED_DIRS; do
        case ":$dirs" in *":$dir:"*) ;; *) dirs="$dirs$dir:" ;; esac
    done
    write_manifest "method=venv" "venv=$VENV_DIR" "link=$LINK" "created_venv=${1:-no}" "created_dirs=$dirs"
}

link_is_ours() {  # the symlink exists and points into our venv
    [ -L "$LINK" ] && [ "$(readlink "$LINK")" = "$VENV_DIR/bin/credproc" ]
}

install_with_venv() {
    local req=$1 created_venv
    created_venv=$(manifest_get created_venv)
    command -v "$PYTHON_BIN" >/dev/null 2>&1 || die "python not found: $PYTHON_BIN (use --python)"
    "$PYTHON_BIN" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
        || die "credproc needs Python 3.10 or newer ($PYTHON_BIN is older)"

    # Refuse before touching anything if the command name is taken by something that is not ours.
    if { [ -e "$LINK" ] || [ -L "$LINK" ]; } && ! link_is_ours; then
        [ "$FORCE" = 1 ] || die "$LINK already exists and was not installed by this script (use --force to replace it)"
    fi

    if [ ! -x "$VENV_DIR/bin/python" ]; then
        say "creating virtual environment $VENV_DIR"
        mkdir_tracked "$INSTALL_DIR"
        "$PYTHON_BIN" -m venv "$VENV_DIR"
        created_venv=yes
    else
        say "reusing virtual environment $VENV_DIR"
    fi
    # Record before pip runs, so that --uninstall can clean up after a failed install too.
    record_venv_install "$created_venv"
    say "installing $req"
    # shellcheck disable=SC2086
    "$VENV_DIR/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade $PIP_ARGS "$req" \
        || die "pip install failed (the virtual environment is left in $VENV_DIR; rerun or use --uninstall)"
    [ -x "$VENV_DIR/bin/credproc" ] || die "pip did not install the credproc command into $VENV_DIR/bin"

    mkdir_tracked "$BIN_DIR"
    if ! link_is_ours; then
        rm -f "$LINK"
        ln -s "$VENV_DIR/bin/credproc" "$LINK"
    fi
    record_venv_install "$created_venv"
    path_note "$BIN_DIR"
    say "installed: $LINK -> $VENV_DIR/bin/credproc"
    "$LINK" --version
}

# pip builds a source directory (the checkout) in place, and setuptools leaves build/ and
# credproc.egg-info in it: remove those this run created (never ones that were there before), also
# when the install fails.
BUILD_LEFTOVERS=()

note_build_leftovers() {  # note_build_leftovers SOURCE
    local out
    [ -d "$1" ] || return 0
    for out in build credproc.egg-info; do
        [ -e "$1/$out" ] || [ -L "$1/$out" ] || BUILD_LEFTOVERS+=("$1/$out")
    done
    trap remove_build_leftovers EXIT
}

remove_build_leftovers() {
    local out
    for out in ${BUILD_LEFTOVERS[@]+"${BUILD_LEFTOVERS[@]}"}; do rm -rf -- "$out"; done
}

do_install() {
    local src req
    src=${SOURCE:-$(default_source)}
    note_build_leftovers "$src"
    req=$(with_extras "$src")
    local previous
    previous=$(manifest_get method)
    if [ "$previous" = pipx ] || { [ -z "$previous" ] && [ "$USE_PIPX" = 1 ] && command -v pipx >/dev/null 2>&1; }; then
        install_with_pipx "$req"
    else
        install_with_venv "$req"
    fi
}

# --- uninstall ---------------------------------------------------------------------------------
remove_created_dirs() {  # innermost first; only the ones still empty (never anything else's files)
    local list=$1 dir reversed=""
    local IFS=:
    for dir in $list; do [ -n "$dir" ] && reversed="$dir:$reversed"; done
    for dir in $reversed; do
        [ -n "$dir" ] && rmdir "$dir" 2>/dev/null && say "removed empty directory $dir"
    done
    return 0
}

installed_credproc() {  # the credproc this install put in place, if it still starts
    local exe
    case "$(manifest_get method)" in
        venv) exe=$VENV_DIR/bin/credproc ;;
        *) exe=${PIPX_BIN_DIR:-$HOME/.local/bin}/credproc ;;
    esac
    [ -x "$exe" ] && "$exe" --version >/dev/null 2>&1 && printf '%s\n' "$exe"
    return 0
}

remove_profiles() {  # AWS profiles that run credproc would fail with "No such file" once it is gone
    local exe=$1
    [ -n "$exe" ] || { say "note: credproc no longer starts, so its AWS profiles were not removed; remove the"
                       say "    [profile ...] sections whose credential_process runs credproc from ~/.aws/config"; return 0; }
    "$exe" uninstall-profile --all \
        || die "could not remove the AWS profiles that run credproc (see above); nothing was uninstalled. Fix that, or run \`$exe uninstall-profile NAME\` for each, then rerun --uninstall"
}

report_kept() {  # what stays behind, each with the command that removes it
    local exe=$1 config cache store
    [ -n "$exe" ] || return 0
    # One path per line: the store may be anywhere (CREDPROC_ENV_DIR), even outside the config directory.
    { read -r config; read -r cache; read -r store; } < <("$(dirname "$(readlink -f "$exe")")/python" -c \
        'from credproc import paths; print(paths.config_dir(), paths.cache_dir(), paths.env_dir(), sep="\n")' \
        2>/dev/null) || return 0
    # A cache holding nothing but lock files (uninstall-profile's own, say) keeps nothing of value.
    if [ -d "$cache" ] && [ -z "$(find "$cache" -mindepth 1 ! -path "$cache/locks" ! -path "$cache/locks/*.lock" -print -quit)" ]; then
        rm -rf -- "$cache"
    fi
    local kept=() line
    [ -d "$store" ] && kept+=("  your environments:     rm -r '$store'")
    [ -d "$config/issuer" ] && kept+=("  the local issuer key:  rm -r '$config/issuer'")
    [ -d "$config/logins" ] && kept+=("  saved logins:          rm -r '$config/logins' (logins kept in the OS keyring: run \`credproc logout --all\` before uninstalling)")
    [ -d "$cache" ] && kept+=("  cached credentials:    rm -r '$cache'")
    if [ -d "$config" ]; then
        line="  everything credproc kept: rm -r '$config'"
        [ ! -d "$cache" ] || line="$line '$cache'"
        [ "${store#"$config"/}" != "$store" ] || line="$line '$store'"
        kept+=("$line")
    fi
    [ ${#kept[@]} -gt 0 ] || return 0  # nothing kept: no heading either
    say "kept (remove each with the command shown, if you no longer want it):"
    for line in "${kept[@]}"; do say "$line"; done
    return 0
}

do_uninstall() {
    [ -f "$MANIFEST" ] || { say "nothing to uninstall (no $MANIFEST)"; return 0; }
    local method exe
    method=$(manifest_get method)
    exe=$(installed_credproc)
    remove_profiles "$exe"
    report_kept "$exe"
    case "$method" in
        pipx)
            command -v pipx >/dev/null 2>&1 || die "the install used pipx, which is no longer on PATH"
            pipx uninstall "$(manifest_get package)"
            ;;
        venv)
            # Remove the link only if it still points at our venv: never someone else's file.
            if link_is_ours; then rm -f "$LINK"; say "removed $LINK"; fi
            if [ "$(manifest_get created_venv)" = yes ] && [ -d "$VENV_DIR" ]; then
                rm -rf "$VENV_DIR"; say "removed $VENV_DIR"
            fi
            ;;
        *) die "unrecognised install record in $MANIFEST" ;;
    esac
    local created
    created=$(manifest_get created_dirs)
    rm -f "$MANIFEST"
    remove_created_dirs "$created"
    say "uninstalled"
}

case "$ACTION" in
    install) do_install ;;
    uninstall) do_uninstall ;;
esac
