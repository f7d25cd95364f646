"""Ask the real bash, zsh and fish what they complete for a command line, with credproc's scripts loaded.

Each shell runs once per batch of lines. A line's last word is the one being completed ("" for a
new word). Returns one set of candidate words per line.
  bash: the script's _credproc with COMP_WORDS/COMP_CWORD set, as bash's programmable completion does;
  fish: `complete -C LINE`;
  zsh:  an interactive `zsh -f` in a pseudo-terminal (zsh/zpty) with compinit and the script on
        $fpath; TAB runs a widget that records every word compadd keeps (after zsh's own matching).
"""
import os
import subprocess

COMPLETIONS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                           "install", "completions")
SEPARATOR = "=====CAPTURE====="

ZSH_SETUP = r"""
PROMPT='' RPROMPT=''
fpath=($COMPDIR $fpath)
autoload -U compinit && compinit -u -D
unsetopt autolist listambiguous beep
zstyle ':completion:*' list-prompt ''
__cap_complete() {
    _main_complete; local ret=$?
    print -r -- "=====CAPTURE=====" >> $CAPFILE
    print -rn -- $'\nCAPTURE''-DONE\n'
    return ret
}
zle -C __cap_complete complete-word __cap_complete
bindkey '^I' __cap_complete
compadd() {
    # calls that only gather matches into arrays (-O, -A, -D) are zsh's own bookkeeping
    if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then
        builtin compadd "$@"; return $?
    fi
    local -a __hits
    builtin compadd -A __hits "$@"
    (( $#__hits )) && print -rl -- $__hits >> $CAPFILE
    builtin compadd "$@"
}
print -r -- 'SETUP''-DONE'
"""

ZSH_DRIVER = r"""
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "source ${(q)SETUP}"
zpty -r z out '*SETUP-DONE*'
for q in "$@"; do
    zpty -w -n z $'\C-u'"$q"$'\t'
    zpty -r z out '*CAPTURE-DONE*'
done
zpty -d z
"""


def _split(text: str, count: int) -> list:
    parts = text.split(SEPARATOR + "\n")
    assert len(parts) == count + 1 and parts[-1] == "", text
    return [{w for w in part.splitlines() if w} for part in parts[:-1]]


def _run(argv: list, env: dict, cwd) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return result.stdout


def bash(lines: list, env: dict, cwd) -> list:
    script = [f"source {COMPLETIONS}/credproc.bash"]
    for line in lines:
        words = line.split(" ")
        quoted = " ".join("'" + w.replace("'", "'\\''") + "'" for w in words)
        script.append(f"COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; COMPREPLY=(); _credproc")
        script.append(f"printf '%s\\n' \"${{COMPREPLY[@]}}\" '{SEPARATOR}'")
    return _split(_run(["bash", "--norc", "--noprofile", "-c", "\n".join(script)], env, cwd), len(lines))


def fish(lines: list, env: dict, cwd) -> list:
    script = [f"source {COMPLETIONS}/credproc.fish"]
    for line in lines:
        script.append("complete -C '" + line.replace("\\", "\\\\").replace("'", "\\'") + "'")
        script.append(f"echo '{SEPARATOR}'")
    out = _run(["fish", "--no-config", "-c", "\n".join(script)], env, cwd)
    return [{row.split("\t")[0] for row in part} for part in _split(out, len(lines))]


def zsh(lines: list, env: dict, cwd, workdir) -> list:
    setup = os.path.join(workdir, "setup.zsh")
    capture = os.path.join(workdir, "capture.txt")
    with open(setup, "w", encoding="utf-8") as handle:
        handle.write(ZSH_SETUP)
    open(capture, "w").close()
    env = dict(env, COMPDIR=COMPLETIONS, CAPFILE=capture, SETUP=setup)
    _run(["zsh", "-f", "-c", ZSH_DRIVER, "zsh", *lines], env, cwd)
    with open(capture, encoding="utf-8") as handle:
        return _split(handle.read(), len(lines))
