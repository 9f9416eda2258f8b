"""A small GraphQL parser: one operation (query), fields with aliases, arguments, variables,
lists, input objects, enums. Fragments and directives are refused (the analytics clients we
emulate for do not need them). Raises GraphQLError with a message like GraphQL servers give."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any


class GraphQLError(Exception):
    pass


@dataclass(frozen=True)
class Var:
    name: str


@dataclass(frozen=True)
class Enum:
    name: str


@dataclass
class Field:
    name: str
    alias: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    selections: list[Field] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.alias or self.name


@dataclass
class Operation:
    kind: str
    name: str | None
    variables: dict[str, tuple[str, bool, Any]]  # name -> (type text, non-null, default)
    selections: list[Field]


TOKEN = re.compile(r'''
    (?P<skip>[\s,\ufeff]+|\#[^\n]*) |
    (?P<block>"""(?:[^"\\]|\\.|"(?!""))*""") |
    (?P<string>"(?:[^"\\\n]|\\.)*") |
    (?P<number>-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?) |
    (?P<name>[_A-Za-z][_0-9A-Za-z]*) |
    (?P<punct>\.\.\.|[!$&()\[\]{}:=@|])
''', re.VERBOSE)


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    while pos < len(text):
        match = TOKEN.match(text, pos)
        if match is None:
            raise GraphQLError(f"Syntax Error: Unexpected character {text[pos]!r} at offset {pos}.")
        pos = match.end()
        kind = match.lastgroup or ""
        if kind != "skip":
            tokens.append((kind, match.group()))
    tokens.append(("eof", ""))
    return tokens


class Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.pos = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.pos]

    def take(self, value: str | None = None, kind: str | None = None) -> str:
        tok_kind, tok = self.tokens[self.pos]
        if (value is not None and tok != value) or (kind is not None and tok_kind != kind):
            wanted = value or kind
            shown = "<EOF>" if tok_kind == "eof" else repr(tok)
            raise GraphQLError(f"Syntax Error: Expected {wanted}, found {shown}.")
        self.pos += 1
        return tok

    def at(self, value: str) -> bool:
        return self.tokens[self.pos][1] == value and self.tokens[self.pos][0] in ("punct", "name")

    def document(self) -> Operation:
        operations = []
        while self.peek()[0] != "eof":
            operations.append(self.operation())
        if len(operations) != 1:
            raise GraphQLError("Must provide exactly one operation.")
        return operations[0]

    def operation(self) -> Operation:
        if self.at("{"):
            return Operation("query", None, {}, self.selection_set())
        kind = self.take(kind="name")
        if kind == "fragment":
            raise GraphQLError("Fragments are not supported by this emulator.")
        if kind != "query":
            raise GraphQLError(f"Unsupported operation type {kind!r}: only queries are allowed.")
        name = self.take(kind="name") if self.peek()[0] == "name" else None
        variables: dict[str, tuple[str, bool, Any]] = {}
        if self.at("("):
            self.take("(")
            while not self.at(")"):
                self.take("$")
                var = self.take(kind="name")
                self.take(":")
                type_text = self.type_ref()
                default = self.value(const=True) if self.at("=") and self.take("=") else None
                variables[var] = (type_text, type_text.endswith("!"), default)
            self.take(")")
        if self.at("@"):
            raise GraphQLError("Directives are not supported by this emulator.")
        return Operation(kind, name, variables, self.selection_set())

    def type_ref(self) -> str:
        if self.at("["):
            self.take("[")
            inner = self.type_ref()
            self.take("]")
            text = f"[{inner}]"
        else:
            text = self.take(kind="name")
        if self.at("!"):
            self.take("!")
            text += "!"
        return text

    def selection_set(self) -> list[Field]:
        self.take("{")
        fields = []
        while not self.at("}"):
            if self.at("..."):
                raise GraphQLError("Fragments are not supported by this emulator.")
            fields.append(self.field())
        self.take("}")
        if not fields:
            raise GraphQLError("Syntax Error: Expected Name, found '}'.")
        return fields

    def field(self) -> Field:
        name, alias = self.take(kind="name"), None
        if self.at(":"):
            self.take(":")
            alias, name = name, self.take(kind="name")
        args: dict[str, Any] = {}
        if self.at("("):
            self.take("(")
            while not self.at(")"):
                arg = self.take(kind="name")
                self.take(":")
                args[arg] = self.value()
            self.take(")")
        if self.at("@"):
            raise GraphQLError("Directives are not supported by this emulator.")
        selections = self.selection_set() if self.at("{") else []
        return Field(name, alias, args, selections)

    def value(self, *, const: bool = False) -> Any:
        kind, tok = self.peek()
        if tok == "$" and kind == "punct":
            if const:
                raise GraphQLError("Syntax Error: Unexpected variable in a constant value.")
            self.take("$")
            return Var(self.take(kind="name"))
        if tok == "[" and kind == "punct":
            self.take("[")
            items = []
            while not self.at("]"):
                items.append(self.value(const=const))
            self.take("]")
            return items
        if tok == "{" and kind == "punct":
            self.take("{")
            obj = {}
            while not self.at("}"):
                key = self.take(kind="name")
                self.take(":")
                obj[key] = self.value(const=const)
            self.take("}")
            return obj
        self.pos += 1
        if kind == "string":
            return json.loads(tok)
        if kind == "block":
            return tok[3:-3].strip()
        if kind == "number":
            return float(tok) if any(c in tok for c in ".eE") else int(tok)
        if kind == "name":
            literals = {"true": True, "false": False, "null": None}
            return literals[tok] if tok in literals else Enum(tok)
        raise GraphQLError(f"Syntax Error: Unexpected {'<EOF>' if kind == 'eof' else repr(tok)}.")


def parse(text: str) -> Operation:
    return Parser(text).document()


def resolve(value: Any, variables: dict[str, Any]) -> Any:
    """Substitute variables into an argument value (enums become their names)."""
    if isinstance(value, Var):
        if value.name not in variables:
            raise GraphQLError(f'Variable "${value.name}" is not defined.')
        return variables[value.name]
    if isinstance(value, Enum):
        return value.name
    if isinstance(value, list):
        return [resolve(v, variables) for v in value]
    if isinstance(value, dict):
        return {k: resolve(v, variables) for k, v in value.items()}
    return value
