"""Findings on rendered PowerShell, read from a real PowerShell grammar (tree-sitter-powershell).

Three rules a real Windows boot depends on, each returning the offending lines (empty = fine):
- every native program runs through the exit-code check (Invoke-Native and its siblings), is a
  `Start-Process -Wait -PassThru` whose ExitCode is read, or is followed by `$LASTEXITCODE`:
  PowerShell 5.1 never stops on a native program's failure;
- every web request closes its error response: on a 4xx/5xx `GetResponse()` throws a
  WebException holding an open response, and Windows PowerShell 5.1 (.NET Framework's
  ServicePointManager.DefaultConnectionLimit 2) then has no connection left for that host;
- every AWS cmdlet call (S3, SSM) is retried: inside Invoke-Retry's -Action, or in a try inside a
  for loop.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import tree_sitter
import tree_sitter_powershell

from tests.helpers.windows_truth import AWS_CMDLET, NATIVE_PROGRAMS

# Functions that run a program and check its exit code themselves.
NATIVE_WRAPPERS = frozenset({"Invoke-Native", "Test-NativeSuccess", "Get-NativeOutput"})
RETRY_WRAPPER = "Invoke-Retry"
Node = tree_sitter.Node


@functools.cache
def _parser() -> tree_sitter.Parser:
    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))


def parse(source: str) -> Node:
    return _parser().parse(source.encode()).root_node


def text(node: Node) -> str:
    return node.text.decode() if node.text is not None else ""


def walk(node: Node) -> Iterator[Node]:
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(n.children))


def ancestors(node: Node) -> Iterator[Node]:
    parent = node.parent
    while parent is not None:
        yield parent
        parent = parent.parent


def command_name(command: Node) -> str | None:
    for child in command.children:
        if child.type == "command_name":
            return text(child)
    return None


def enclosing_function(node: Node) -> str | None:
    for a in ancestors(node):
        if a.type == "function_statement":
            for child in a.children:
                if child.type == "function_name":
                    return text(child)
    return None


def _statement(node: Node) -> Node:
    """The statement of a statement_list that holds `node`."""
    current = node
    for a in ancestors(node):
        if a.type == "statement_list":
            return current
        current = a
    return current


def _line(node: Node) -> str:
    return f"line {node.start_point[0] + 1}: {text(node).splitlines()[0][:100]}"


def _is_native(name: str) -> bool:
    base = name.lower().rsplit("\\", 1)[-1].removesuffix(".exe")
    return name.lower().endswith(".exe") or base in NATIVE_PROGRAMS


def unchecked_native_calls(source: str) -> list[str]:
    root = parse(source)
    found = []
    for node in walk(root):
        if node.type != "command":
            continue
        name = command_name(node)
        if name is None:  # `& <expr> ...`: a program run directly
            if enclosing_function(node) in NATIVE_WRAPPERS or _runs_a_scriptblock(node):
                continue
            following = _statement(node).next_named_sibling
            if following is not None and "$LASTEXITCODE" in text(following):
                continue
            found.append(_line(node))
        elif name == "Start-Process":
            found.extend(_start_process_problem(node))
        elif _is_native(name):
            found.append(_line(node))
    for wrapper in NATIVE_WRAPPERS:
        body = function_body(root, wrapper)
        if body is not None and "$LASTEXITCODE" not in body:
            found.append(f"function {wrapper}: never reads $LASTEXITCODE")
    return found


def _runs_a_scriptblock(command: Node) -> bool:
    """`& $Action` where $Action is a [scriptblock] parameter of the enclosing function."""
    target = next((c for c in command.children if c.type == "command_name_expr"), None)
    if target is None or not text(target).startswith("$"):
        return False
    function = next((a for a in ancestors(command) if a.type == "function_statement"), None)
    return function is not None and f"[scriptblock]{text(target)}" in text(function)


def _start_process_problem(command: Node) -> list[str]:
    args = text(command)
    if "-Wait" not in args or "-PassThru" not in args:
        return [_line(command) + " (needs -Wait -PassThru to see the exit code)"]
    statement = _statement(command)
    assigned = text(statement).split("=", 1)[0].strip() if "=" in text(statement) else ""
    rest = ""
    sibling = statement.next_named_sibling
    while sibling is not None:
        rest += text(sibling)
        sibling = sibling.next_named_sibling
    if not assigned.startswith("$") or f"{assigned}.ExitCode" not in rest:
        return [_line(command) + " (its ExitCode is never read)"]
    return []


def function_body(root: Node, name: str) -> str | None:
    for node in walk(root):
        if node.type == "function_statement" and any(
            c.type == "function_name" and text(c) == name for c in node.children
        ):
            return text(node)
    return None


def unclosed_web_responses(source: str) -> list[str]:
    root = parse(source)
    found = []
    for node in walk(root):
        if node.type == "command" and command_name(node) in (
            "Invoke-WebRequest",
            "Invoke-RestMethod",
        ):
            found.append(_line(node) + " (web requests go only through Test-Health)")
    for node in walk(root):
        if "GetResponse()" not in text(node) or node.type != "pipeline":
            continue
        if _only_in_strings(node, "GetResponse()"):
            continue  # an embedded file (a here-string) is data here; it is checked on its own
        if any(
            c.type == "pipeline" and "GetResponse()" in text(c) for c in walk(node) if c != node
        ):
            continue  # report the innermost pipeline only
        tries = [a for a in ancestors(node) if a.type == "try_statement"]
        if not tries or not _closes_error_response(tries[0]):
            found.append(_line(node) + " (the WebException's response is never closed)")
    return found


def _only_in_strings(node: Node, needle: str) -> bool:
    code = text(node)
    for c in walk(node):
        if c.type == "string_literal":
            code = code.replace(text(c), "")
    return needle not in code


def _closes_error_response(try_statement: Node) -> bool:
    catches = [n for n in walk(try_statement) if n.type == "catch_clause"]
    finals = [n for n in walk(try_statement) if n.type == "finally_clause"]
    web = [
        c for c in catches if "WebException" in text(c) and ".Exception.Response.Close()" in text(c)
    ]
    return bool(web) and any(".Close()" in text(f) for f in finals)


def unretried_cloud_calls(source: str) -> list[str]:
    root = parse(source)
    found = []
    for node in walk(root):
        if node.type != "command":
            continue
        name = command_name(node)
        if name is None or not AWS_CMDLET.match(name):
            continue
        if _inside_retry(node):
            continue
        found.append(_line(node))
    return found


def _inside_retry(node: Node) -> bool:
    chain = list(ancestors(node))
    for i, a in enumerate(chain):
        if a.type == "script_block_expression":
            owner = next((c for c in chain[i + 1 :] if c.type == "command"), None)
            if (
                owner is not None
                and command_name(owner) == RETRY_WRAPPER
                and "-Action" in text(owner)
            ):
                return True
        if a.type == "try_statement" and any(b.type == "for_statement" for b in chain[i + 1 :]):
            return True
    return False


def nssm_set_names(source: str) -> list[str]:
    """Every NSSM parameter the script sets: literal `Invoke-Native $Nssm @('set', $x, 'Name', ...)`
    calls, the keys of the `$settings` table that Install-NssmService passes to `nssm set`, and
    the registry values it writes under the service's Parameters key."""
    root = parse(source)
    names: list[str] = []
    for node in walk(root):
        if node.type != "command":
            continue
        body = text(node)
        if command_name(node) == "Invoke-Native" and "$Nssm" in body and "@('set'," in body:
            inner = body.split("@('set',", 1)[1]
            literal = inner.split(",", 2)[1].strip()
            if literal.startswith("'"):
                names.append(literal.strip("'"))
            elif literal != "$setting.Key":
                names.append(f"<not a literal: {literal}>")
        if command_name(node) in ("New-ItemProperty", "Set-ItemProperty") and "-Name " in body:
            names.append(body.split("-Name ", 1)[1].split()[0])
    names.extend(_settings_table_keys(root))
    return names


def _settings_table_keys(root: Node) -> list[str]:
    """Keys of the hashtable assigned to `$settings` in Install-NssmService."""
    for node in walk(root):
        if node.type != "function_statement" or "function Install-NssmService" not in text(node):
            continue
        for table in walk(node):
            if table.type != "hash_literal_expression":
                continue
            if "$settings" in text(_statement(table)).split("=", 1)[0]:
                return [text(k) for k in walk(table) if k.type == "key_expression"]
    return []
