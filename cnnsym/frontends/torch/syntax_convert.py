""":mod:`ast` trees to the frontend's libcst-shaped nodes (:mod:`.syntax`), one method per
:mod:`ast` node type."""
from __future__ import annotations

import ast
import re

from . import syntax_nodes as S

_SIMPLE = (ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Return, ast.Raise, ast.Assert, ast.Delete,
           ast.Pass, ast.Break, ast.Continue, ast.Import, ast.ImportFrom, ast.Global, ast.Nonlocal)
_NAMED_CONST = {True: "True", False: "False", None: "None"}
_KEYWORD = re.compile(rb"(?:async\s+)?(?:def|class)\s+")


class Converter:
    _EXPR: dict = {}  # ast expression type -> method (filled below the class, once)
    _STMT: dict = {}

    def __init__(self, src):
        self.src = src

    # helpers ------------------------------------------------------------------
    def at(self, node, a):
        """*node* placed where the ast node *a* is."""
        node._pos = (a.lineno, a.col_offset, a.end_lineno, a.end_col_offset)
        node._src = self.src
        return node

    def like(self, node, other):
        node._pos = other._pos
        node._src = self.src
        return node

    def name(self, ident, a, pos=None):
        n = S.Name(ident)
        n._src = self.src
        n._pos = pos if pos is not None else (a.lineno, a.col_offset, a.end_lineno, a.end_col_offset)
        return n

    def opt(self, a):
        return None if a is None else self.expr(a)

    # modules and statements ---------------------------------------------------
    def module(self, tree):
        m = S.Module(self.stmts(tree.body))
        m._src = self.src
        m._pos = (1, 0, 1, 0)
        return m

    def stmts(self, body):
        out = []
        for a in body:
            if isinstance(a, _SIMPLE):
                s = self._STMT[type(a)](self, a)
                out.append(self.like(S.SimpleStatementLine([s]), s))
            else:
                f = self._STMT.get(type(a))
                out.append(f(self, a) if f is not None else self.at(S.EmptyLine(), a))
        return out

    def block(self, body):
        stmts = self.stmts(body)
        b = S.IndentedBlock(stmts)
        return self.like(b, stmts[0]) if stmts else b

    def orelse(self, body, allow_elif=False):
        if not body:
            return None
        if allow_elif and len(body) == 1 and isinstance(body[0], ast.If) and self._is_elif(body[0]):
            return self.s_If(body[0])
        b = self.block(body)
        return self.like(S.Else(b), b)

    def _is_elif(self, a):
        lines = self.src.lines()
        if a.lineno > len(lines):
            return False
        return lines[a.lineno - 1].encode("utf-8")[a.col_offset:a.col_offset + 4] == b"elif"

    def s_Expr(self, a):
        return self.at(S.Expr(self.expr(a.value)), a)

    def s_Assign(self, a):
        targets = [self.at(S.AssignTarget(self.expr(t)), t) for t in a.targets]
        return self.at(S.Assign(targets, self.expr(a.value)), a)

    def s_AugAssign(self, a):
        return self.at(S.AugAssign(self.expr(a.target), S._AUGOP[type(a.op)], self.expr(a.value)), a)

    def s_AnnAssign(self, a):
        ann = self.expr(a.annotation)
        return self.at(S.AnnAssign(self.expr(a.target), self.like(S.Annotation(ann), ann), self.opt(a.value)), a)

    def s_Return(self, a):
        return self.at(S.Return(self.opt(a.value)), a)

    def s_Raise(self, a):
        return self.at(S.Raise(self.opt(a.exc), self.opt(a.cause)), a)

    def s_Assert(self, a):
        return self.at(S.Assert(self.expr(a.test), self.opt(a.msg)), a)

    def s_Delete(self, a):
        ts = [self.expr(t) for t in a.targets]
        if len(ts) == 1:
            target = ts[0]
        else:
            target = self.like(S.Tuple([self.like(S.Element(t), t) for t in ts]), ts[0])
        return self.at(S.Del(target), a)

    def s_Pass(self, a):
        return self.at(S.Pass(), a)

    def s_Break(self, a):
        return self.at(S.Break(), a)

    def s_Continue(self, a):
        return self.at(S.Continue(), a)

    def dotted(self, text, a):
        parts = text.split(".")
        node = self.name(parts[0], a)
        for p in parts[1:]:
            node = self.like(S.Attribute(node, self.name(p, a)), node)
        return node

    def alias(self, al, a):
        where = al if hasattr(al, "lineno") else a
        asname = None
        if al.asname is not None:
            asname = S.AsName(self.name(al.asname, where))
        return self.at(S.ImportAlias(self.dotted(al.name, where), asname), where)

    def s_Import(self, a):
        return self.at(S.Import([self.alias(al, a) for al in a.names]), a)

    def s_ImportFrom(self, a):
        mod = self.dotted(a.module, a) if a.module else None
        if len(a.names) == 1 and a.names[0].name == "*":
            names = self.at(S.ImportStar(), a)
        else:
            names = [self.alias(al, a) for al in a.names]
        return self.at(S.ImportFrom(mod, names, [S.Dot() for _ in range(a.level or 0)]), a)

    def s_Global(self, a):
        return self.at(S.Global([S.NameItem(self.name(n, a)) for n in a.names]), a)

    def s_Nonlocal(self, a):
        return self.at(S.Nonlocal([S.NameItem(self.name(n, a)) for n in a.names]), a)

    def s_If(self, a):
        return self.at(S.If(self.expr(a.test), self.block(a.body), self.orelse(a.orelse, allow_elif=True)), a)

    def s_For(self, a, asynchronous=False):
        return self.at(S.For(self.expr(a.target), self.expr(a.iter), self.block(a.body), self.orelse(a.orelse),
                             asynchronous), a)

    def s_AsyncFor(self, a):
        return self.s_For(a, True)

    def s_While(self, a):
        return self.at(S.While(self.expr(a.test), self.block(a.body), self.orelse(a.orelse)), a)

    def s_With(self, a, asynchronous=False):
        items = []
        for it in a.items:
            e = self.expr(it.context_expr)
            asname = None
            if it.optional_vars is not None:
                t = self.expr(it.optional_vars)
                asname = self.like(S.AsName(t), t)
            items.append(self.like(S.WithItem(e, asname), e))
        return self.at(S.With(items, self.block(a.body), asynchronous), a)

    def s_AsyncWith(self, a):
        return self.s_With(a, True)

    def s_Try(self, a, kind=None):
        handlers = []
        for h in a.handlers:
            name = S.AsName(self.name(h.name, h)) if h.name else None
            handlers.append(self.at(S.ExceptHandler(self.block(h.body), self.opt(h.type), name), h))
        final = None
        if a.finalbody:
            b = self.block(a.finalbody)
            final = self.like(S.Finally(b), b)
        return self.at((kind or S.Try)(self.block(a.body), handlers, self.orelse(a.orelse), final), a)

    def s_TryStar(self, a):
        return self.s_Try(a, S.TryStar)

    def params(self, args, a):
        pos = list(args.posonlyargs) + list(args.args)
        defaults = [None] * (len(pos) - len(args.defaults)) + list(args.defaults)
        made = [self.param(p, d) for p, d in zip(pos, defaults)]
        n_only = len(args.posonlyargs)
        star = self.param(args.vararg, None, "*") if args.vararg is not None else (
            S.ParamStar() if args.kwonlyargs else None)
        kwonly = [self.param(p, d) for p, d in zip(args.kwonlyargs, args.kw_defaults)]
        kwarg = self.param(args.kwarg, None, "**") if args.kwarg is not None else None
        node = S.Parameters(made[n_only:], star, kwonly, kwarg, made[:n_only])
        node._src = self.src
        node._pos = made[0]._pos if made else (a.lineno, a.col_offset, a.lineno, a.col_offset)
        return node

    def param(self, p, default, star=""):
        ann = None
        if p.annotation is not None:
            e = self.expr(p.annotation)
            ann = self.like(S.Annotation(e), e)
        return self.at(S.Param(self.name(p.arg, p), ann, self.opt(default), star), p)

    def decorators(self, a):
        out = []
        for d in a.decorator_list:
            e = self.expr(d)
            out.append(self.at(S.Decorator(e), d))
        return out

    def s_FunctionDef(self, a, asynchronous=False):
        returns = None
        if a.returns is not None:
            e = self.expr(a.returns)
            returns = self.like(S.Annotation(e), e)
        name = self.name(a.name, a, self._name_pos(a, a.name))
        node = S.FunctionDef(name, self.params(a.args, a), None, self.decorators(a), returns, asynchronous)
        node._lazy = (self.block, a.body)  # read on first use (syntax_nodes.FunctionDef)
        return self.at(node, a)

    def s_AsyncFunctionDef(self, a):
        return self.s_FunctionDef(a, True)

    def _name_pos(self, a, ident):
        """Where a def/class name is: the first occurrence after the keyword on its line."""
        lines = self.src.lines()
        if a.lineno > len(lines):
            return None
        raw = lines[a.lineno - 1].encode("utf-8")
        m = _KEYWORD.match(raw, a.col_offset)  # after `class`/`def`/`async def`: `class s` is not at `cla[s]s`
        i = raw.find(ident.encode("utf-8"), m.end() if m else a.col_offset + 3)
        return None if i < 0 else (a.lineno, i, a.lineno, i + len(ident.encode("utf-8")))

    def s_ClassDef(self, a):
        bases = [self.arg(b) for b in a.bases]
        kws = [self.keyword(k) for k in a.keywords]
        name = self.name(a.name, a, self._name_pos(a, a.name))
        return self.at(S.ClassDef(name, self.block(a.body), bases, kws, self.decorators(a)), a)

    def s_Match(self, a):
        return self.at(S.Match(self.expr(a.subject), []), a)

    # expressions --------------------------------------------------------------
    def expr(self, a):
        return self._EXPR[type(a)](self, a)

    def e_Name(self, a):
        return self.name(a.id, a)

    def e_Constant(self, a):
        v = a.value
        if v is None or v is True or v is False:
            return self.name(_NAMED_CONST[v], a)
        if v is Ellipsis:
            return self.at(S.Ellipsis(), a)
        if isinstance(v, bool):
            return self.name(_NAMED_CONST[bool(v)], a)
        if isinstance(v, int):
            return self.at(S.Integer(v), a)
        if isinstance(v, float):
            return self.at(S.Float(v), a)
        if isinstance(v, complex):
            return self.at(S.Imaginary(v), a)
        return self.at(S.SimpleString(v), a)

    def e_Attribute(self, a):
        end = a.end_col_offset
        n = len(a.attr.encode("utf-8"))
        attr = self.name(a.attr, a, (a.end_lineno, end - n, a.end_lineno, end))
        return self.at(S.Attribute(self.expr(a.value), attr), a)

    def arg(self, a):
        if isinstance(a, ast.Starred):
            return self.at(S.Arg(self.expr(a.value), None, "*"), a)
        return self.at(S.Arg(self.expr(a), None, ""), a)

    def keyword(self, k):
        v = self.expr(k.value)
        if k.arg is None:
            return self.at(S.Arg(v, None, "**"), k)
        return self.at(S.Arg(v, self.name(k.arg, k, (k.lineno, k.col_offset, k.lineno,
                                                          k.col_offset + len(k.arg.encode("utf-8")))), ""), k)

    def e_Call(self, a):
        args = [self.arg(x) for x in a.args]
        if a.keywords:
            args += [self.keyword(k) for k in a.keywords]
            args.sort(key=lambda x: (x._pos[0], x._pos[1]))
        return self.at(S.Call(self.expr(a.func), args), a)

    def e_BinOp(self, a):
        return self.at(S.BinaryOperation(self.expr(a.left), S._OP[type(a.op)], self.expr(a.right)), a)

    def e_BoolOp(self, a):
        op = S._AND if isinstance(a.op, ast.And) else S._OR
        vals = [self.expr(v) for v in a.values]
        node = vals[0]
        for v in vals[1:]:
            node = self.like(S.BooleanOperation(node, op, v), node)
        node._pos = (a.lineno, a.col_offset, a.end_lineno, a.end_col_offset)
        return node

    def e_UnaryOp(self, a):
        return self.at(S.UnaryOperation(S._UN[type(a.op)], self.expr(a.operand)), a)

    def e_Compare(self, a):
        comps = [S.ComparisonTarget(S._CMP[type(op)], self.expr(c)) for op, c in zip(a.ops, a.comparators)]
        return self.at(S.Comparison(self.expr(a.left), comps), a)

    def e_Subscript(self, a):
        s = a.slice
        parts = s.elts if isinstance(s, ast.Tuple) and s.elts else [s]
        elems = []
        for p in parts:
            if isinstance(p, ast.Slice):
                inner = self.at(S.Slice(self.opt(p.lower), self.opt(p.upper), self.opt(p.step)), p)
            elif isinstance(p, ast.Starred):
                inner = self.at(S.Index(self.expr(p.value), "*"), p)
            else:
                e = self.expr(p)
                inner = self.like(S.Index(e, None), e)
            elems.append(self.like(S.SubscriptElement(inner), inner))
        return self.at(S.Subscript(self.expr(a.value), elems), a)

    def elements(self, elts):
        out = []
        for e in elts:
            if isinstance(e, ast.Starred):
                out.append(self.at(S.StarredElement(self.expr(e.value)), e))
            else:
                v = self.expr(e)
                out.append(self.like(S.Element(v), v))
        return out

    def e_Tuple(self, a):
        node = self.at(S.Tuple(self.elements(a.elts)), a)
        if node.elements and self.src.byte_at(a.lineno, a.col_offset) == b"(":
            node._pos = node.elements[0]._pos[:2] + node._pos[2:]  # libcst: inside the parentheses
        return node

    def e_List(self, a):
        return self.at(S.List(self.elements(a.elts)), a)

    def e_Set(self, a):
        return self.at(S.Set(self.elements(a.elts)), a)

    def e_Starred(self, a):  # an assignment target `a, *b = x` goes through elements(); alone it is this
        return self.at(S.StarredElement(self.expr(a.value)), a)

    def e_Dict(self, a):
        out = []
        for k, v in zip(a.keys, a.values):
            ve = self.expr(v)
            if k is None:
                out.append(self.like(S.StarredDictElement(ve), ve))
            else:
                ke = self.expr(k)
                out.append(self.like(S.DictElement(ke, ve), ke))
        return self.at(S.Dict(out), a)

    def comp_for(self, gens):
        inner = None
        for g in reversed(gens):
            ifs = []
            for t in g.ifs:
                e = self.expr(t)
                ifs.append(self.like(S.CompIf(e), e))
            target = self.expr(g.target)
            inner = self.like(S.CompFor(target, self.expr(g.iter), ifs, inner, bool(g.is_async)), target)
        return inner

    def e_ListComp(self, a):
        return self.at(S.ListComp(self.expr(a.elt), self.comp_for(a.generators)), a)

    def e_SetComp(self, a):
        return self.at(S.SetComp(self.expr(a.elt), self.comp_for(a.generators)), a)

    def e_GeneratorExp(self, a):
        return self.at(S.GeneratorExp(self.expr(a.elt), self.comp_for(a.generators)), a)

    def e_DictComp(self, a):
        return self.at(S.DictComp(self.expr(a.key), self.expr(a.value), self.comp_for(a.generators)), a)

    def e_IfExp(self, a):
        return self.at(S.IfExp(self.expr(a.test), self.expr(a.body), self.expr(a.orelse)), a)

    def e_Lambda(self, a):
        return self.at(S.Lambda(self.params(a.args, a), self.expr(a.body)), a)

    def e_NamedExpr(self, a):
        return self.at(S.NamedExpr(self.expr(a.target), self.expr(a.value)), a)

    def e_Yield(self, a):
        return self.at(S.Yield(self.opt(a.value)), a)

    def e_YieldFrom(self, a):
        v = self.expr(a.value)
        return self.at(S.Yield(self.like(S.From(v), v)), a)

    def e_Await(self, a):
        return self.at(S.Await(self.expr(a.value)), a)

    def e_Slice(self, a):  # only inside a subscript, handled there; here for completeness
        return self.at(S.Slice(self.opt(a.lower), self.opt(a.upper), self.opt(a.step)), a)

    def fparts(self, a):
        out = []
        for v in a.values:
            if isinstance(v, ast.Constant):
                out.append(self.at(S.FormattedStringText(v.value), v))
            else:
                spec = self.fparts(v.format_spec) if v.format_spec is not None else None
                out.append(self.at(S.FormattedStringExpression(self.expr(v.value), S._CONVERSION.get(v.conversion),
                                                               spec), v))
        return out

    def e_JoinedStr(self, a):
        return self.at(S.FormattedString(self.fparts(a)), a)


for _name, _fn in list(vars(Converter).items()):
    if _name.startswith("e_"):
        Converter._EXPR[getattr(ast, _name[2:])] = _fn
    elif _name.startswith("s_"):
        Converter._STMT[getattr(ast, _name[2:])] = _fn
del _name, _fn
