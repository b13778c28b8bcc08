"""A Streamlit session without a browser, for load benchmarks: it speaks the app's WebSocket protocol as the
browser does (a `rerun_script` message with the page, the query string and the widgets' values; the server's
`ForwardMsg`s back) but draws nothing, so forty of them cost the server what forty phones cost it, and the
benchmark's own machine almost nothing. It also answers the page's timed fragments (`st.fragment(run_every=...)`)
as the browser does, with a fragment rerun every interval.

    async with StreamlitSession(url, "join", "room=ABCDE") as session:
        await session.run()                                     # the page as it opens
        await session.run({"Display name": "Ada"}, press="Join")  # a form: its text, then its submit button
        assert any("You are in as" in text for text in session.texts())
"""

import asyncio

import websockets
from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

WIDGETS = ("text_input", "text_area", "button")  # the kinds this client can fill in or press
FULL_RUN_ENDS = (ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_WITH_COMPILE_ERROR)


class StreamlitSession:
    """One browser tab's session on one page of a running app."""

    def __init__(self, url: str, page: str, query_string: str = "") -> None:
        self.stream_url = url.replace("http", "ws", 1) + "/_stcore/stream"
        self.page, self.query_string = page, query_string
        self.elements: dict[tuple[int, ...], object] = {}  # the page as drawn: delta path -> Element
        self.widget_ids: dict[str, str] = {}  # label -> widget id, of the widgets this client can use
        self.values: dict[str, WidgetState] = {}  # widget id -> the value this client gave it
        self.page_script_hash = ""  # the page's, from the server's navigation message
        self.timers: dict[str, asyncio.Task] = {}  # fragment id -> its rerun timer
        self.run_ended = asyncio.Event()

    async def __aenter__(self) -> "StreamlitSession":
        self.socket = await websockets.connect(self.stream_url, subprotocols=["streamlit"], max_size=None)
        self.reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *_exc: object) -> None:
        for task in [self.reader, *self.timers.values()]:
            task.cancel()
        await self.socket.close()

    async def run(self, values: dict[str, str] | None = None, press: str | None = None) -> None:
        """One full run of the page: type `values` into the text boxes with those labels and press the button
        `press` (a form's submit button sends the form), then wait until the run, and any `st.rerun()` it
        asked for, has finished."""
        for label, text in (values or {}).items():
            self.values[self.widget_ids[label]] = WidgetState(id=self.widget_ids[label], string_value=text)
        states = list(self.values.values())
        if press is not None:
            states.append(WidgetState(id=self.widget_ids[press], trigger_value=True))
        for timer in self.timers.values():  # the browser drops its timers on a full run; the run sets them again
            timer.cancel()
        self.timers.clear()
        self.elements.clear()
        self.run_ended.clear()
        await self._send(states)
        await self.run_ended.wait()

    def texts(self) -> list[str]:
        """The markdown, alert and exception texts of the page as last drawn."""
        found = []
        for element in self.elements.values():
            kind = element.WhichOneof("type")
            if kind == "markdown":
                found.append(element.markdown.body)
            elif kind == "alert":
                found.append(element.alert.body)
            elif kind == "exception":
                found.append(f"{element.exception.type}: {element.exception.message}")
        return found

    def errors(self) -> list[str]:
        """Exceptions and error boxes on the page as last drawn."""
        return [
            element.exception.message if element.WhichOneof("type") == "exception" else element.alert.body
            for element in self.elements.values()
            if element.WhichOneof("type") == "exception"
            or (element.WhichOneof("type") == "alert" and element.alert.format == Alert.ERROR)
        ]

    async def _send(self, states: list[WidgetState], fragment_id: str = "") -> None:
        message = BackMsg()
        client = message.rerun_script
        client.query_string, client.page_name, client.page_script_hash = (
            self.query_string,
            self.page,
            self.page_script_hash,
        )
        client.widget_states.widgets.extend(states)
        if fragment_id:
            client.fragment_id, client.is_auto_rerun = fragment_id, True
        await self.socket.send(message.SerializeToString())

    async def _rerun_every(self, seconds: float, fragment_id: str) -> None:
        while True:
            await asyncio.sleep(seconds)
            await self._send(list(self.values.values()), fragment_id)

    async def _read(self) -> None:
        async for frame in self.socket:
            message = ForwardMsg()
            message.ParseFromString(frame)
            kind = message.WhichOneof("type")
            if kind == "delta" and message.delta.WhichOneof("type") == "new_element":
                element = message.delta.new_element
                self.elements[tuple(message.metadata.delta_path)] = element
                if element.WhichOneof("type") in WIDGETS:
                    widget = getattr(element, element.WhichOneof("type"))
                    self.widget_ids[widget.label] = widget.id
            elif kind == "navigation":
                self.page_script_hash = message.navigation.page_script_hash
            elif kind == "auto_rerun" and message.auto_rerun.fragment_id not in self.timers:
                rerun = message.auto_rerun
                self.timers[rerun.fragment_id] = asyncio.create_task(
                    self._rerun_every(rerun.interval, rerun.fragment_id)
                )
            elif kind == "script_finished" and message.script_finished in FULL_RUN_ENDS:
                self.run_ended.set()
