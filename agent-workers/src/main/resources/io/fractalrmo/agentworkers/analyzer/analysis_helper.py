"""Fractal-RMO static analysis helper.

A long-lived process per worker: one JSON request per stdin line, one JSON response per stdout line.
It only parses code (ast, symtable, compile) and looks modules up (importlib.util.find_spec); it
never runs the code it is given. Ops: analyze, analyze_program, analyze_aspects (analyze_program
for several aspects from one parse), compile, missing_imports, defs, names.
"""
import ast
import builtins
import importlib.util
import json
import re
import resource
import symtable
import sys
import typing
import warnings

try:  # a pathological input must not exhaust the host
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
except (ValueError, OSError):
    pass

STDLIB = set(getattr(sys, "stdlib_module_names", ())) - {"this", "antigravity"}
TYPING_NAMES = {n for n in dir(typing) if not n.startswith("_") and n[:1].isupper()}
BUILTINS = set(dir(builtins))
MODULE_DUNDERS = {"__name__", "__file__", "__doc__", "__builtins__", "__spec__", "__loader__",
                  "__package__", "__path__", "__debug__", "__annotations__", "__dict__"}
HIGH, MEDIUM, LOW, INFO = "HIGH", "MEDIUM", "LOW", "INFO"


def finding(kind, severity, line, description, aspect, blocking=False):
    return {"type": kind, "severity": severity, "line": line, "description": description,
            "aspect": aspect, "blocking": blocking}


# Parse trees of the request being handled, by source: the checks only read them, so the aspects
# of one analyze_aspects request share one parse of the solution, the tests and the program.
_PARSED = {}


# Every node of a tree the request's checks walk, in ast.walk's order, by the tree's id (the tree
# is kept with them, so an id is never reused while cached): the checks walk each tree several
# times, and ast.walk's generator was most of the helper's CPU. Cleared with _PARSED.
_WALKED = {}


def walk(tree):
    hit = _WALKED.get(id(tree))
    if hit is None or hit[0] is not tree:
        hit = (tree, tuple(ast.walk(tree)))
        _WALKED[id(tree)] = hit
    return hit[1]


def parse(code):
    hit = _PARSED.get(code)
    if hit is None:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                tree = ast.parse(code, "main.py")
            hit = (tree, caught, None)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            hit = (None, None, exc)
        _PARSED[code] = hit
    if hit[2] is not None:
        raise hit[2]
    return hit[0], hit[1]


def syntax_error_doc(exc):
    return {"type": type(exc).__name__, "message": exc.msg or str(exc), "line": exc.lineno,
            "offset": exc.offset}


# ---------------------------------------------------------------- SYNTAX
def check_syntax(code):
    out = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            compile(code, "main.py", "exec", dont_inherit=True)
    except SyntaxError as exc:  # includes IndentationError, TabError
        kind = {"IndentationError": "INDENTATION_ERROR", "TabError": "TAB_ERROR"}.get(
            type(exc).__name__, "SYNTAX_ERROR")
        text = (exc.text or "").strip()
        out.append(finding(kind, HIGH, exc.lineno,
                           "%s at line %s: %s%s. Fix the statement so the module compiles."
                           % (type(exc).__name__, exc.lineno, exc.msg,
                              (" (`%s`)" % text[:80]) if text else ""), "SYNTAX", True))
        return out
    except (ValueError, RecursionError, MemoryError) as exc:
        out.append(finding("UNCOMPILABLE", HIGH, None, "The code cannot be compiled: %s" % exc,
                           "SYNTAX", True))
        return out
    for w in caught:
        if issubclass(w.category, SyntaxWarning):
            out.append(finding("SYNTAX_WARNING", LOW, w.lineno,
                               "Python warns at line %s: %s" % (w.lineno, w.message), "SYNTAX"))
    return out


# ---------------------------------------------------------------- helpers
def is_true_constant(node):
    return isinstance(node, ast.Constant) and bool(node.value) and not isinstance(node.value, str) \
        or (isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value != "")


def walk_no_nested_scopes(nodes):
    """Walk statements without entering nested functions, lambdas or classes."""
    stack = list(nodes)
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                continue
            stack.append(child)


def loop_exits(loop):
    """True when the loop body can leave the loop: break (of this loop), return, raise, yield,
    sys.exit()/exit()/quit()."""
    stack = list(loop.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Return, ast.Raise, ast.Yield, ast.YieldFrom, ast.Await, ast.Break)):
            return True
        if isinstance(node, ast.Call) and dotted(node.func) in ("sys.exit", "exit", "quit", "os._exit"):
            return True
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        if isinstance(node, (ast.For, ast.AsyncFor, ast.While)):
            # a break inside a nested loop leaves only that loop; return/raise/yield still count
            if any(isinstance(n, (ast.Return, ast.Raise, ast.Yield, ast.YieldFrom))
                   for n in walk_no_nested_scopes(node.body + node.orelse)):
                return True
            continue
        stack.extend(ast.iter_child_nodes(node))
    return False


def terminates(stmts):
    """True when control never falls off the end of this statement list."""
    for s in stmts:
        if isinstance(s, (ast.Return, ast.Raise)):
            return True
        if isinstance(s, ast.If) and terminates(s.body) and terminates(s.orelse):
            return True
        if isinstance(s, ast.While) and is_true_constant(s.test) and not has_break(s):
            return True
        if isinstance(s, (ast.With, ast.AsyncWith)) and terminates(s.body):
            return True
        if isinstance(s, ast.Try) or type(s).__name__ == "TryStar":
            if s.finalbody and terminates(s.finalbody):
                return True
            body_ok = terminates(s.body) or (s.orelse and terminates(s.orelse))
            if body_ok and all(terminates(h.body) for h in s.handlers):
                return True
        if isinstance(s, ast.Match):
            irrefutable = any(isinstance(c.pattern, ast.MatchAs) and c.pattern.pattern is None
                              and c.guard is None for c in s.cases)
            if irrefutable and all(terminates(c.body) for c in s.cases):
                return True
        if isinstance(s, ast.Expr) and isinstance(s.value, ast.Call) and \
                dotted(s.value.func) in ("sys.exit", "exit", "quit", "os._exit"):
            return True
        if isinstance(s, ast.Assert) and isinstance(s.test, ast.Constant) and not s.test.value:
            return True
    return False


def has_break(loop):
    stack = list(loop.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Break):
            return True
        if isinstance(node, (ast.For, ast.AsyncFor, ast.While, ast.FunctionDef,
                             ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        stack.extend(ast.iter_child_nodes(node))
    return False


def dotted(node):
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


class Imports:
    """Aliases bound by import statements anywhere in the module: local name -> qualified name."""

    def __init__(self, tree):
        self.alias = {}
        for node in walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname:
                        self.alias[a.asname] = a.name
                    else:
                        top = a.name.split(".")[0]
                        self.alias[top] = top
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for a in node.names:
                    if a.name != "*":
                        self.alias[a.asname or a.name] = node.module + "." + a.name

    def qualify(self, func):
        name = dotted(func)
        if name is None:
            return None
        head, _, rest = name.partition(".")
        if head in self.alias:
            return self.alias[head] + ("." + rest if rest else "")
        return name


def bound_names(tree):
    """Every name bound anywhere (assignment, def, class, import, parameter, for target...)."""
    names = set()
    for node in walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            names.add(node.rest)
    return names


# ---------------------------------------------------------------- LOGIC
PURE_FUNCTIONS = {"sorted", "reversed", "map", "filter", "len", "abs", "round", "min", "max", "sum",
                  "any", "all", "str", "int", "float", "list", "tuple", "set", "dict", "frozenset",
                  "zip", "enumerate", "range", "repr", "bool"}
PURE_METHODS = {"strip", "lstrip", "rstrip", "replace", "lower", "upper", "split", "rsplit", "join",
                "format", "capitalize", "title", "casefold", "swapcase", "startswith", "endswith",
                "encode", "decode", "zfill", "center", "ljust", "rjust", "removeprefix",
                "removesuffix", "splitlines", "partition", "rpartition", "isdigit", "isalpha"}


def check_logic(tree):
    out = []
    bound = bound_names(tree)
    for node in walk(tree):
        if isinstance(node, ast.While) and is_true_constant(node.test) and not loop_exits(node):
            out.append(finding("UNBOUNDED_LOOP", HIGH, node.lineno,
                               "`while %s:` at line %d has no break, return or raise: it never ends. "
                               "Add an exit condition." % (ast.unparse(node.test), node.lineno), "LOGIC"))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body_nodes = list(walk_no_nested_scopes(node.body))
            if any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in body_nodes):
                continue
            returns_value = [n for n in body_nodes if isinstance(n, ast.Return) and n.value is not None
                             and not (isinstance(n.value, ast.Constant) and n.value.value is None)]
            if returns_value and not terminates(node.body):
                out.append(finding("MISSING_RETURN", MEDIUM, node.lineno,
                                   "Function `%s` (line %d) returns a value on some paths but can reach "
                                   "its end and return None on others. Return a value (or raise) on "
                                   "every path." % (node.name, node.lineno), "LOGIC"))
        elif isinstance(node, ast.Expr):
            v = node.value
            if isinstance(v, ast.Call):
                if isinstance(v.func, ast.Name) and v.func.id in PURE_FUNCTIONS and v.func.id not in bound:
                    out.append(finding("UNUSED_RESULT", MEDIUM, node.lineno,
                                       "The result of `%s(...)` at line %d is discarded; `%s` does not "
                                       "change its argument. Assign or return it."
                                       % (v.func.id, node.lineno, v.func.id), "LOGIC"))
                elif isinstance(v.func, ast.Attribute) and v.func.attr in PURE_METHODS:
                    out.append(finding("UNUSED_RESULT", MEDIUM, node.lineno,
                                       "The result of `.%s()` at line %d is discarded; strings are "
                                       "immutable, so this has no effect. Assign the result."
                                       % (v.func.attr, node.lineno), "LOGIC"))
            elif isinstance(v, ast.Compare) and len(v.ops) == 1 and isinstance(v.ops[0], (ast.Eq,)):
                out.append(finding("UNUSED_RESULT", MEDIUM, node.lineno,
                                   "Comparison `%s` at line %d is computed and thrown away; did you mean "
                                   "an assignment (`=`) or an assert?" % (ast.unparse(v)[:60], node.lineno),
                                   "LOGIC"))
            elif isinstance(v, ast.BinOp):
                out.append(finding("UNUSED_RESULT", LOW, node.lineno,
                                   "Expression `%s` at line %d is computed and thrown away."
                                   % (ast.unparse(v)[:60], node.lineno), "LOGIC"))
    return out


# ---------------------------------------------------------------- DEPENDENCY
def module_resolves(name):
    top = name.split(".")[0]
    try:
        if importlib.util.find_spec(top) is None:
            return False
    except (ImportError, ValueError):
        return False
    if "." in name and top in STDLIB:  # only stdlib parents are imported to look deeper
        try:
            return importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            return False
    return True


def undefined_globals(code, tree):
    """Names read somewhere that no scope binds and that are not builtins (symtable)."""
    table = symtable.symtable(code, "main.py", "exec")
    module_names = {s.get_name() for s in table.get_symbols()
                    if s.is_assigned() or s.is_imported() or s.is_namespace() or s.is_parameter()}
    missing = {}
    lines = first_load_lines(tree)

    def visit(t):
        for s in t.get_symbols():
            n = s.get_name()
            if not s.is_referenced():
                continue
            if t.get_type() == "module":
                free = not (s.is_assigned() or s.is_imported() or s.is_namespace())
            else:
                free = s.is_global() and not s.is_declared_global() or (
                    s.is_declared_global() and n not in module_names)
                free = free and n not in module_names
            if free and n not in BUILTINS and n not in MODULE_DUNDERS:
                missing.setdefault(n, lines.get(n))
        for child in t.get_children():
            visit(child)

    visit(table)
    return missing


def first_load_lines(tree):
    lines = {}
    for node in walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            if node.id not in lines or node.lineno < lines[node.id]:
                lines[node.id] = node.lineno
    return lines


def missing_imports(code, tree):
    has_star = any(isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names)
                   for n in walk(tree))
    result = []
    if has_star:
        return result, True
    for name, line in sorted(undefined_globals(code, tree).items(), key=lambda kv: (kv[1] or 0, kv[0])):
        if name in STDLIB and module_resolves(name):
            result.append({"name": name, "module": name, "statement": "import %s" % name, "line": line})
        elif name in TYPING_NAMES:
            result.append({"name": name, "module": "typing",
                           "statement": "from typing import %s" % name, "line": line})
        else:
            result.append({"name": name, "module": None, "statement": None, "line": line})
    return result, False


def check_dependency(code, tree):
    out = []
    for node in walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if not module_resolves(a.name):
                    out.append(finding("UNRESOLVED_IMPORT", HIGH, node.lineno,
                                       "`import %s` (line %d) does not resolve in the sandbox's Python "
                                       "%d.%d: the module is not installed there. Use the standard "
                                       "library or remove the import."
                                       % (a.name, node.lineno, sys.version_info[0], sys.version_info[1]),
                                       "DEPENDENCY"))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if not module_resolves(node.module):
                out.append(finding("UNRESOLVED_IMPORT", HIGH, node.lineno,
                                   "`from %s import ...` (line %d) does not resolve in the sandbox's "
                                   "Python: the module is not installed there." % (node.module, node.lineno),
                                   "DEPENDENCY"))
            elif node.module.split(".")[0] in STDLIB:
                try:
                    mod = importlib.import_module(node.module)
                except Exception:
                    mod = None
                for a in node.names:
                    if mod is not None and a.name != "*" and not hasattr(mod, a.name) and \
                            not module_resolves(node.module + "." + a.name):
                        out.append(finding("IMPORT_NAME_NOT_FOUND", HIGH, node.lineno,
                                           "`%s` is not defined in module `%s` (line %d); check the "
                                           "spelling." % (a.name, node.module, node.lineno), "DEPENDENCY"))
    found, star = missing_imports(code, tree)
    for m in found:
        if m["module"] == m["name"]:
            out.append(finding("MISSING_IMPORT", HIGH, m["line"],
                               "Module `%s` is used (line %s) but never imported: add `%s`."
                               % (m["name"], m["line"], m["statement"]), "DEPENDENCY"))
        elif m["module"] == "typing":
            out.append(finding("MISSING_IMPORT", HIGH, m["line"],
                               "`%s` is used (line %s) but never imported: add `%s`."
                               % (m["name"], m["line"], m["statement"]), "DEPENDENCY"))
        else:
            out.append(finding("UNDEFINED_NAME", MEDIUM, m["line"],
                               "Name `%s` is used (line %s) but never defined, imported or built in; "
                               "calling it raises NameError." % (m["name"], m["line"]), "DEPENDENCY"))
    if star:
        out.append(finding("STAR_IMPORT", LOW, None,
                           "`from ... import *` hides where names come from; undefined names could not "
                           "be checked. Import names explicitly.", "DEPENDENCY"))
    return out


# ---------------------------------------------------------------- SECURITY
DANGEROUS_CALLS = {
    "eval": ("EVAL_CALL", "`eval()` runs arbitrary code from a string; parse the value instead "
                          "(e.g. `ast.literal_eval`, `int()`)."),
    "exec": ("EXEC_CALL", "`exec()` runs arbitrary code from a string; call the code directly."),
    "__import__": ("DYNAMIC_IMPORT", "`__import__()` imports modules chosen at run time; import explicitly."),
    "os.system": ("OS_COMMAND", "`os.system()` runs a shell command; compute the result in Python."),
    "os.popen": ("OS_COMMAND", "`os.popen()` runs a shell command; compute the result in Python."),
    "pty.spawn": ("OS_COMMAND", "`pty.spawn()` starts a program; not allowed in task code."),
}
DANGEROUS_PREFIXES = {
    "subprocess.": ("SUBPROCESS", "`%s` starts another program; task code must compute in Python."),
    "os.exec": ("OS_COMMAND", "`%s` replaces the process with another program; not allowed."),
    "os.spawn": ("OS_COMMAND", "`%s` starts another program; not allowed."),
    "os.posix_spawn": ("OS_COMMAND", "`%s` starts another program; not allowed."),
    "socket.": ("NETWORK_ACCESS", "`%s` opens a network socket; task code has no network."),
    "urllib.request.": ("NETWORK_ACCESS", "`%s` reaches the network; task code has no network."),
    "http.client.": ("NETWORK_ACCESS", "`%s` reaches the network; task code has no network."),
    "requests.": ("NETWORK_ACCESS", "`%s` reaches the network; task code has no network."),
    "ftplib.": ("NETWORK_ACCESS", "`%s` reaches the network; task code has no network."),
    "smtplib.": ("NETWORK_ACCESS", "`%s` reaches the network; task code has no network."),
    "ctypes.": ("NATIVE_CODE", "`%s` calls native code and can bypass every Python-level check."),
}
FS_MUTATORS = {"os.remove", "os.unlink", "os.rmdir", "os.removedirs", "shutil.rmtree", "os.rename",
               "os.replace", "shutil.move", "os.chmod", "os.chown", "shutil.copy", "shutil.copyfile"}
SECRET_NAME = re.compile(r"(^|_)(pass(word|wd)?|pwd|secret|api_?key|apikey|token|auth|access_?key|"
                         r"private_?key|credentials?)($|_)", re.I)
SECRET_VALUE = [
    (re.compile(r"AKIA[0-9A-Z]{16}"), "an AWS access key id"),
    (re.compile(r"-----BEGIN (RSA |EC |DSA |OPENSSH )?PRIVATE KEY-----"), "a private key"),
    (re.compile(r"gh[pousr]_[A-Za-z0-9]{36,}"), "a GitHub token"),
    (re.compile(r"sk-[A-Za-z0-9_-]{20,}"), "an API secret key"),
    (re.compile(r"xox[baprs]-[A-Za-z0-9-]{10,}"), "a Slack token"),
]
PLACEHOLDER = re.compile(r"^(|x+|\*+|changeme|change_me|your[_ -].*|<.*>|\$\{.*\}|none|null|todo|test|example)$", re.I)


def is_outside_workdir(path):
    return path.startswith("/") or path.startswith("~") or ".." in path.replace("\\", "/").split("/")


def open_mode(call):
    if len(call.args) >= 2 and isinstance(call.args[1], ast.Constant) and isinstance(call.args[1].value, str):
        return call.args[1].value
    for kw in call.keywords:
        if kw.arg == "mode" and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
            return kw.value.value
    return "r"


def check_security(tree):
    out = []
    imports = Imports(tree)
    bound = bound_names(tree)
    for node in walk(tree):
        if isinstance(node, ast.Call):
            q = imports.qualify(node.func)
            if q is None:
                continue
            if isinstance(node.func, ast.Name) and node.func.id in bound and q == node.func.id:
                continue  # a user-defined function that shadows a builtin
            if q in DANGEROUS_CALLS:
                kind, text = DANGEROUS_CALLS[q]
                out.append(finding(kind, HIGH, node.lineno, "Line %d: %s" % (node.lineno, text), "SECURITY", True))
                continue
            hit = next((v for p, v in DANGEROUS_PREFIXES.items() if q.startswith(p)), None)
            if hit:
                out.append(finding(hit[0], HIGH, node.lineno,
                                   "Line %d: %s" % (node.lineno, hit[1] % q), "SECURITY", True))
                continue
            if q in ("open", "io.open", "builtins.open") and node.args:
                mode = open_mode(node)
                target = node.args[0]
                if any(c in mode for c in "wax+"):
                    if isinstance(target, ast.Constant) and isinstance(target.value, str):
                        if is_outside_workdir(target.value):
                            out.append(finding("FILE_WRITE_OUTSIDE_WORKDIR", HIGH, node.lineno,
                                               "Line %d writes to `%s`, outside the work dir; write "
                                               "only to relative paths." % (node.lineno, target.value),
                                               "SECURITY", True))
                    else:
                        out.append(finding("FILE_WRITE", LOW, node.lineno,
                                           "Line %d opens a computed path for writing; make sure it "
                                           "stays inside the work dir." % node.lineno, "SECURITY"))
            elif q in FS_MUTATORS or (isinstance(node.func, ast.Attribute) and
                                      node.func.attr in ("write_text", "write_bytes", "unlink", "rmdir")):
                target = node.args[0] if node.args and q in FS_MUTATORS else getattr(node.func, "value", None)
                const = None
                if isinstance(target, ast.Constant) and isinstance(target.value, str):
                    const = target.value
                elif isinstance(target, ast.Call) and target.args and isinstance(target.args[0], ast.Constant) \
                        and isinstance(target.args[0].value, str):
                    const = target.args[0].value  # Path('/etc/x').write_text(...)
                if const is not None and is_outside_workdir(const):
                    out.append(finding("FILE_WRITE_OUTSIDE_WORKDIR", HIGH, node.lineno,
                                       "Line %d changes `%s`, outside the work dir." % (node.lineno, const),
                                       "SECURITY", True))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for m in mods:
                if m.split(".")[0] in ("subprocess", "socket", "ctypes", "pty"):
                    out.append(finding("RISKY_IMPORT", LOW, node.lineno,
                                       "Line %d imports `%s`, which can reach outside the sandbox; "
                                       "task code should not need it." % (node.lineno, m), "SECURITY"))
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            value = node.value
            for t in targets:
                name = t.id if isinstance(t, ast.Name) else (t.attr if isinstance(t, ast.Attribute) else None)
                if name and secret_literal(value) and SECRET_NAME.search(name):
                    out.append(finding("HARDCODED_SECRET", MEDIUM, node.lineno,
                                       "Line %d assigns a literal to `%s`, which looks like a credential; "
                                       "read it from configuration instead." % (node.lineno, name), "SECURITY"))
        elif isinstance(node, ast.keyword) and node.arg and SECRET_NAME.search(node.arg) and secret_literal(node.value):
            out.append(finding("HARDCODED_SECRET", MEDIUM, node.value.lineno,
                               "Line %d passes a literal `%s=`; credentials belong in configuration."
                               % (node.value.lineno, node.arg), "SECURITY"))
        elif isinstance(node, ast.Dict):
            for k, v in zip(node.keys, node.values):
                if isinstance(k, ast.Constant) and isinstance(k.value, str) and SECRET_NAME.search(k.value) \
                        and secret_literal(v):
                    out.append(finding("HARDCODED_SECRET", MEDIUM, v.lineno,
                                       "Line %d stores a literal under key `%s`; credentials belong in "
                                       "configuration." % (v.lineno, k.value), "SECURITY"))
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            for rx, what in SECRET_VALUE:
                if rx.search(node.value):
                    out.append(finding("HARDCODED_SECRET", HIGH, node.lineno,
                                       "Line %d contains what looks like %s; remove it and rotate it."
                                       % (node.lineno, what), "SECURITY"))
                    break
    return out


def secret_literal(value):
    return isinstance(value, ast.Constant) and isinstance(value.value, str) and len(value.value) >= 6 \
        and not PLACEHOLDER.match(value.value.strip())


# ---------------------------------------------------------------- PERFORMANCE
def sequence_of(iter_node):
    """The sequence a for loop walks: xs for `xs`, `range(len(xs))`, `enumerate(xs)`, `xs[1:]`."""
    n = iter_node
    if isinstance(n, ast.Call) and isinstance(n.func, ast.Name):
        if n.func.id in ("enumerate", "reversed", "sorted", "list", "tuple", "iter") and n.args:
            return sequence_of(n.args[0])
        if n.func.id == "range" and n.args:
            for a in reversed(n.args):
                if isinstance(a, ast.Call) and isinstance(a.func, ast.Name) and a.func.id == "len" and a.args:
                    return sequence_of(a.args[0])
                if isinstance(a, ast.BinOp) and isinstance(a.left, ast.Call) and \
                        isinstance(a.left.func, ast.Name) and a.left.func.id == "len" and a.left.args:
                    return sequence_of(a.left.args[0])
            return None
    if isinstance(n, ast.Subscript) and isinstance(n.slice, ast.Slice):
        return sequence_of(n.value)
    if isinstance(n, (ast.Name, ast.Attribute)):
        return ast.unparse(n)
    return None


def list_names(scope):
    """Names bound in this scope to values that are certainly lists."""
    names = set()
    for node in walk_no_nested_scopes(scope.body if hasattr(scope, "body") else []):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            v = node.value
            if isinstance(v, (ast.List, ast.ListComp)) or (
                    isinstance(v, ast.Call) and isinstance(v.func, ast.Name) and v.func.id in ("list", "sorted")) or (
                    isinstance(v, ast.Call) and isinstance(v.func, ast.Attribute) and v.func.attr in ("split", "splitlines")):
                names.add(node.targets[0].id)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            ann = ast.unparse(node.annotation)
            if ann.startswith(("list", "List")):
                names.add(node.target.id)
    if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
        for a in scope.args.args + scope.args.kwonlyargs:
            if a.annotation is not None and ast.unparse(a.annotation).startswith(("list", "List")):
                names.add(a.arg)
    return names


def check_performance(tree):
    out = []
    scopes = [tree] + [n for n in walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    for scope in scopes:
        lists = list_names(scope)
        rebound = {}

        def visit(node, loops):
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                    continue
                inner = loops
                if isinstance(child, (ast.For, ast.AsyncFor)):
                    seq = sequence_of(child.iter)
                    if seq is not None and any(s == seq for s, _ in loops):
                        out.append(finding("NESTED_LOOP_SAME_SEQUENCE", MEDIUM, child.lineno,
                                           "Line %d loops over `%s` inside another loop over `%s`: O(n²). "
                                           "Use a set/dict lookup, sorting, or a single pass."
                                           % (child.lineno, seq, seq), "PERFORMANCE"))
                    inner = loops + [(seq, child)]
                    visit_expr_list([child.iter], loops)
                    for stmt in child.body + child.orelse:
                        visit_stmt(stmt, inner)
                    continue
                if isinstance(child, ast.While):
                    inner = loops + [(None, child)]
                    for stmt in child.body + child.orelse:
                        visit_stmt(stmt, inner)
                    visit_expr_list([child.test], inner)
                    continue
                if isinstance(child, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
                    inner = loops + [(sequence_of(g.iter), child) for g in child.generators]
                    for g in child.generators[1:]:
                        seq = sequence_of(g.iter)
                        if seq is not None and seq == sequence_of(child.generators[0].iter):
                            out.append(finding("NESTED_LOOP_SAME_SEQUENCE", MEDIUM, child.lineno,
                                               "Line %d: comprehension iterates `%s` twice (O(n²))."
                                               % (child.lineno, seq), "PERFORMANCE"))
                    visit(child, inner)
                    continue
                if loops:
                    check_in_loop(child)
                visit(child, inner)

        def visit_stmt(stmt, loops):
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                return
            if loops:
                check_in_loop(stmt)
            wrapper = ast.Module(body=[stmt], type_ignores=[])
            visit(wrapper, loops)

        def visit_expr_list(nodes, loops):
            for n in nodes:
                if loops:
                    check_in_loop(n)
                visit(n, loops)

        reported = set()

        def check_in_loop(n):
            key = (id(n))
            if key in reported:
                return
            reported.add(key)
            if isinstance(n, ast.Compare):
                for op, right in zip(n.ops, n.comparators):
                    if isinstance(op, (ast.In, ast.NotIn)) and isinstance(right, ast.Name) and right.id in lists:
                        out.append(finding("LIST_MEMBERSHIP_IN_LOOP", MEDIUM, n.lineno,
                                           "Line %d tests `in %s` inside a loop; `%s` is a list, so each test "
                                           "scans it (O(n) per test). Build a set once before the loop."
                                           % (n.lineno, right.id, right.id), "PERFORMANCE"))
            elif isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and \
                    isinstance(n.func.value, ast.Name) and n.func.value.id in lists:
                if n.func.attr in ("index", "count"):
                    out.append(finding("LIST_SEARCH_IN_LOOP", MEDIUM, n.lineno,
                                       "Line %d calls `%s.%s()` inside a loop: a linear scan each time. "
                                       "Precompute a dict of positions/counts before the loop."
                                       % (n.lineno, n.func.value.id, n.func.attr), "PERFORMANCE"))
                elif n.func.attr in ("insert", "pop") and n.args and isinstance(n.args[0], ast.Constant) \
                        and n.args[0].value == 0:
                    out.append(finding("LIST_FRONT_OPERATION_IN_LOOP", LOW, n.lineno,
                                       "Line %d: `%s.%s(0, ...)` in a loop shifts the whole list each time; "
                                       "use collections.deque." % (n.lineno, n.func.value.id, n.func.attr),
                                       "PERFORMANCE"))

        visit(ast.Module(body=scope.body, type_ignores=[]) if scope is not tree else tree, [])
    # de-duplicate (a node can be reached from two scopes)
    seen, unique = set(), []
    for f in out:
        k = (f["type"], f["line"], f["description"])
        if k not in seen:
            seen.add(k)
            unique.append(f)
    return unique


# ---------------------------------------------------------------- protocol
def analyze(code, aspects):
    findings = []
    if "SYNTAX" in aspects:
        findings += check_syntax(code)
    try:
        tree, _ = parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        return {"findings": findings, "parsed": False,
                "note": "the code does not parse (%s), so it could not be analysed further" % exc}
    if "LOGIC" in aspects:
        findings += check_logic(tree)
    if "DEPENDENCY" in aspects:
        findings += check_dependency(code, tree)
    if "SECURITY" in aspects:
        findings += check_security(tree)
    if "PERFORMANCE" in aspects:
        findings += check_performance(tree)
    return {"findings": findings, "parsed": True}


# the aspects that look at every part that runs (the others judge the solution itself)
PROGRAM_ASPECTS = {"SECURITY", "DEPENDENCY"}
# dependency findings that make sense for a part alone (names it uses may come from the other part)
IMPORT_FINDINGS = {"UNRESOLVED_IMPORT", "IMPORT_NAME_NOT_FOUND"}
LINE_REF = re.compile(r"\b([Ll])ine (\d+)")
MAX_FINDINGS = 200
MAX_DESCRIPTION = 500


def compose(code, tests, entry, defines_check):
    """The program as it runs: the solution, then the tests in the same namespace, then
    check(entry) when the tests define check. Returns (source, first line of the tests)."""
    head = code if code.endswith("\n") else code + "\n"
    first_test_line = head.count("\n") + 3
    src = head + "\n\n" + tests
    if not tests.endswith("\n"):
        src += "\n"
    if defines_check and entry and entry.isidentifier():
        src += "\n\ncheck(%s)\n" % entry
    return src, first_test_line


def in_part(f, part, mapping):
    """The finding re-labelled for the part it is in; line numbers mapped into that part."""
    def relabel(m):
        return "%sine %d of the %s" % (m.group(1), mapping(int(m.group(2))), part)
    g = dict(f)
    if g.get("line") is not None:
        g["line"] = mapping(g["line"])
    g["description"] = LINE_REF.sub(relabel, g["description"])
    if not LINE_REF.search(f["description"]):
        g["description"] = "In the %s: %s" % (part, g["description"])
    return g


def analyze_program(code, tests, entry, aspects):
    """The solution with every requested aspect, plus — for SECURITY and DEPENDENCY — the test code
    and the program as it runs (solution, tests and check() in one namespace: an alias imported by
    the tests makes a call in the solution dangerous, and the other way round). Findings of the
    tests and of the composition say which part they are in; a finding already reported for a
    part is not repeated for the composition."""
    result = analyze(code, aspects) if code.strip() else {"findings": [], "parsed": True}
    findings = result["findings"]
    wanted = aspects & PROGRAM_ASPECTS
    if not tests or not tests.strip() or not wanted:
        return bound(result)
    seen = {(f["type"], "solution", f["line"]) for f in findings}
    try:
        ttree, _ = parse(tests)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        result["test_note"] = "the test code does not parse (%s), so it could not be analysed" % exc
        return bound(result)
    part = []
    if "SECURITY" in wanted:
        part += check_security(ttree)
    if "DEPENDENCY" in wanted:
        part += [f for f in check_dependency(tests, ttree) if f["type"] in IMPORT_FINDINGS]
    for f in part:
        g = in_part(f, "test code", lambda n: n)
        seen.add((g["type"], "tests", g["line"]))
        findings.append(g)
    if not code.strip():
        return bound(result)
    defines_check = any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == "check"
                        for n in ttree.body)
    src, first_test = compose(code, tests, entry, defines_check)
    try:
        ctree, _ = parse(src)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return bound(result)  # the solution's own analysis reports why it does not parse
    whole = []
    if "SECURITY" in wanted:
        whole += check_security(ctree)
    if "DEPENDENCY" in wanted:
        whole += [f for f in check_dependency(src, ctree) if f["type"] not in IMPORT_FINDINGS]
    for f in whole:
        line = f.get("line")
        if line is not None and line >= first_test:
            name, key, mapping = "test code", "tests", (lambda n: n - first_test + 1)
        else:
            name, key, mapping = "solution", "solution", (lambda n: n)
        mapped = mapping(line) if line is not None else None
        if (f["type"], key, mapped) in seen:
            continue
        if f["aspect"] == "DEPENDENCY" and key == "solution":
            continue  # the solution's own analysis judged its names
        seen.add((f["type"], key, mapped))
        g = in_part(f, name + " (as run with the %s)" % ("solution" if key == "tests" else "test code"),
                    mapping)
        findings.append(g)
    return bound(result)


def bound(result):
    """At most MAX_FINDINGS findings with descriptions of at most MAX_DESCRIPTION characters."""
    fs = result["findings"]
    if len(fs) > MAX_FINDINGS:
        fs.sort(key=lambda f: (not f.get("blocking"), -["INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"]
                               .index(f.get("severity", "INFO"))))
        result["truncated"] = len(fs) - MAX_FINDINGS
        del fs[MAX_FINDINGS:]
    for f in fs:
        if len(f["description"]) > MAX_DESCRIPTION:
            f["description"] = f["description"][:MAX_DESCRIPTION - 1] + "\u2026"
    return result


def handle(req):
    op = req.get("op")
    code = req.get("code", "")
    if op == "analyze":
        return bound(analyze(code, set(req.get("aspects", []))))
    if op == "analyze_program":
        return analyze_program(code, req.get("test_code") or "", req.get("entry_point"),
                               set(req.get("aspects", [])))
    if op == "analyze_aspects":
        # what analyze_program answers for each aspect alone, from one parse of each part
        return {"by_aspect": {a: analyze_program(code, req.get("test_code") or "", req.get("entry_point"), {a})
                              for a in req.get("aspects", [])}}
    if op == "compile":
        try:
            compile(code, "main.py", "exec", dont_inherit=True)
            return {"ok": True}
        except SyntaxError as exc:
            return {"ok": False, "syntax_error": syntax_error_doc(exc)}
        except (ValueError, RecursionError, MemoryError) as exc:
            return {"ok": False, "syntax_error": {"type": type(exc).__name__, "message": str(exc), "line": None}}
    if op == "missing_imports":
        try:
            tree, _ = parse(code)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return {"missing": [], "parsed": False}
        found, star = missing_imports(code, tree)
        return {"missing": found, "parsed": True, "star_import": star}
    if op == "defs":
        try:
            tree, _ = parse(code)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return {"functions": [], "parsed": False}
        return {"functions": [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))],
                "parsed": True}
    if op == "names":
        return {"stdlib": sorted(STDLIB), "typing": sorted(TYPING_NAMES),
                "version": "%d.%d.%d" % sys.version_info[:3]}
    return {"error": "unknown op %r" % op}


def main():
    sys.setrecursionlimit(10000)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        rid = None
        try:
            req = json.loads(line)
            rid = req.get("id")
            resp = handle(req)
        except BaseException as exc:  # never die on one bad request
            resp = {"error": "%s: %s" % (type(exc).__name__, exc)}
        finally:
            _PARSED.clear()
            _WALKED.clear()
        resp["id"] = rid
        sys.stdout.write(json.dumps(resp) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
