"""Scripted cloud providers for the imaging tests: the real fakes (``tests.fakes``) with responders
that answer image edits with a solid-colour picture and vision questions from a table.

Answers depend on the request's content (the filter text in the prompt or filter list), never on
order, so concurrent jobs in a real worker process get the answer their test set up.
"""

from __future__ import annotations

import io
import threading
import time
from dataclasses import dataclass, field

import orjson
from PIL import Image

from tests.fakes import Request, multipart_fields
from tests.fakes.gemini_server import FakeGemini, gemini_error, image_reply
from tests.fakes.openai_server import FakeOpenAI, openai_error

KEY = "test-image-key"
GEMINI_IMAGE_MODEL = "fake-gemini-image"
GEMINI_VISION_MODEL = "fake-gemini-vision"
OPENAI_IMAGE_MODEL = "gpt-image-1"
OPENAI_VISION_MODEL = "fake-gpt-vision"

EDIT_COLOUR = {"openai": (255, 0, 255), "gemini": (0, 200, 0)}


def solid_png(colour: tuple[int, int, int], size: tuple[int, int] = (256, 192)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    return buf.getvalue()


@dataclass
class Finding:
    present: bool
    boxes: list[list[int]] = field(default_factory=list)  # [ymin, xmin, ymax, xmax] on 0-1000


class Behaviour:
    """What the fakes do, by the filter text found in a request. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.findings: dict[str, Finding] = {}
        self.failing: dict[str, int] = {}  # filter text -> HTTP status every edit mentioning it gets
        self.edit_delay = 0.0
        self.edits_in_flight = 0
        self.max_edits_in_flight = 0

    def editing(self) -> None:
        """Called by an edit responder: hold the request ``edit_delay`` seconds, counting overlap."""
        with self._lock:
            delay = self.edit_delay
            self.edits_in_flight += 1
            self.max_edits_in_flight = max(self.max_edits_in_flight, self.edits_in_flight)
        try:
            time.sleep(delay)
        finally:
            with self._lock:
                self.edits_in_flight -= 1

    def see(self, text: str, present: bool, boxes: list[list[int]] | None = None) -> None:
        with self._lock:
            self.findings[text] = Finding(present, boxes or [])

    def fail(self, text: str, status: int = 500) -> None:
        with self._lock:
            self.failing[text] = status

    def failure_for(self, prompt: str) -> int | None:
        with self._lock:
            return next((status for text, status in self.failing.items() if text in prompt), None)

    def vision_answer(self, descriptions: list[dict[str, object]]) -> dict[str, object]:
        with self._lock:
            results = []
            for item in descriptions:
                found = self.findings.get(str(item["description"]), Finding(True))
                results.append({"id": item["id"], "present": found.present,
                                "boxes": [{"box_2d": b} for b in found.boxes]})
        return {"results": results}


def _filters_in(text: str) -> list[dict[str, object]]:
    return orjson.loads(text[text.index("{"):])["filters"]


def vision_filters(request: Request) -> list[str]:
    """The filter descriptions a vision request asked about (either provider)."""
    if request.path.endswith(":generateContent"):
        return [str(f["description"]) for f in _filters_in(FakeGemini.user_text(request))]
    content = request.json["messages"][-1]["content"]
    return [str(f["description"]) for f in _filters_in(content[0]["text"])]


def scripted_gemini(behaviour: Behaviour) -> FakeGemini:
    server = FakeGemini(expected_api_key=KEY)

    def respond(request: Request) -> object:
        if request.params["model"] == GEMINI_VISION_MODEL:
            return behaviour.vision_answer(_filters_in(FakeGemini.user_text(request)))
        status = behaviour.failure_for(FakeGemini.user_text(request))
        if status is not None:
            return gemini_error(status)
        behaviour.editing()
        return image_reply(solid_png(EDIT_COLOUR["gemini"]))

    server.generate.responder = respond
    return server


def scripted_openai(behaviour: Behaviour) -> FakeOpenAI:
    server = FakeOpenAI(expected_api_key=KEY)

    def edit(request: Request) -> object:
        prompt = multipart_fields(request)["prompt"][0].value.decode()
        status = behaviour.failure_for(prompt)
        if status is not None:
            return openai_error(status)
        behaviour.editing()
        return solid_png(EDIT_COLOUR["openai"])

    def chat(request: Request) -> object:
        return behaviour.vision_answer(_filters_in(request.json["messages"][-1]["content"][0]["text"]))

    server.images.responder = edit
    server.chat.responder = chat
    return server


def provider_env(openai_url: str | None, gemini_url: str | None, **extra: str) -> dict[str, str]:
    """Worker environment pointing the providers at the fakes (only loopback URLs)."""
    env: dict[str, str] = {}
    if openai_url:
        env.update(OPENAI_API_KEY=KEY, OPENAI_BASE_URL=f"{openai_url}/v1", OPENAI_IMAGE_MODEL=OPENAI_IMAGE_MODEL,
                   OPENAI_VISION_MODEL=OPENAI_VISION_MODEL)
    if gemini_url:
        env.update(GEMINI_API_KEY=KEY, GEMINI_BASE_URL=gemini_url, GEMINI_IMAGE_MODEL=GEMINI_IMAGE_MODEL,
                   GEMINI_VISION_MODEL=GEMINI_VISION_MODEL)
    env.update(extra)
    return env
