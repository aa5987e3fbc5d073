"""The window's look, in one place: a calm light palette on Qt's Fusion style, a short style sheet (spacing, the
dock titles, the group boxes), the dark backdrop of the video, the help text's colours, and the buttons' icons,
drawn here with QPainter (no icon set to ship, the same strokes on every platform).

``apply(app)`` sets them on the application (``vidcv-gui`` and ``vidcv label`` do); the widgets that draw or
colour something themselves (the video view, the help text) read the constants below, so a window made
without ``apply`` (a test) still shows the same video backdrop and a readable help text.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QIcon, QPainter, QPainterPath, QPalette, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import QApplication, QLabel

# --- colours -----------------------------------------------------------------------------------------------
WINDOW = QColor("#eef0f3")  #: panels and dialogs
BASE = QColor("#ffffff")  #: fields and lists
TEXT = QColor("#1f2329")  #: all text
MUTED = QColor("#5b6470")  #: secondary text (placeholders, group titles): 5.1:1 on BASE, 4.6:1 on WINDOW
BORDER = QColor("#cfd4db")  #: the lines around group boxes and the dock titles
ACCENT = QColor("#2f6bd8")  #: selection, focus, sliders' groove
RECORD = QColor("#d8453b")  #: the record button's dot and stop square
ERROR = QColor("#b8322a")  #: an error's words: 5.0:1 on WINDOW, 5.9:1 on BASE
WARNING = QColor("#8a5a00")  #: a warning's words (a detector handed a gray image): 5.9:1 on BASE
ICON = QColor("#3c4350")  #: the icons' strokes
VIDEO_BACKGROUND = QColor("#1b1d21")  #: behind the video (letterbox bars), and the view before any frame
VIDEO_HINT = QColor("#8a919c")  #: the view's words before any frame
HELP_TEXT = QColor("#343a44")  #: a stage's description under its parameters: 9.8:1 on HELP_BACKGROUND
HELP_BACKGROUND = QColor("#e3e7ec")

STYLESHEET = f"""
QMainWindow::separator {{ width: 6px; height: 6px; }}
QDockWidget::title {{
    background: {WINDOW.darker(106).name()}; border-bottom: 1px solid {BORDER.name()};
    padding: 5px 8px; text-align: left;
}}
QGroupBox {{
    background: {WINDOW.lighter(102).name()}; border: 1px solid {BORDER.name()}; border-radius: 6px;
    margin-top: 1.2em; padding-top: 2px;
}}
QGroupBox::title {{ subcontrol-origin: margin; left: 8px; padding: 0 3px; color: {MUTED.name()}; }}
QStatusBar {{ border-top: 1px solid {BORDER.name()}; }}
"""


def palette() -> QPalette:
    """The application's light palette: soft gray panels, white fields, one blue accent, dark text."""
    pal = QPalette()
    roles = {
        QPalette.ColorRole.Window: WINDOW,
        QPalette.ColorRole.WindowText: TEXT,
        QPalette.ColorRole.Base: BASE,
        QPalette.ColorRole.AlternateBase: QColor("#f5f6f8"),
        QPalette.ColorRole.Text: TEXT,
        QPalette.ColorRole.Button: QColor("#f7f8fa"),
        QPalette.ColorRole.ButtonText: TEXT,
        QPalette.ColorRole.BrightText: QColor("#ffffff"),
        QPalette.ColorRole.Highlight: ACCENT,
        QPalette.ColorRole.HighlightedText: QColor("#ffffff"),
        QPalette.ColorRole.Link: ACCENT,
        QPalette.ColorRole.PlaceholderText: MUTED,
        QPalette.ColorRole.ToolTipBase: QColor("#ffffff"),
        QPalette.ColorRole.ToolTipText: TEXT,
        QPalette.ColorRole.Light: QColor("#ffffff"),
        QPalette.ColorRole.Midlight: QColor("#e4e7eb"),
        QPalette.ColorRole.Mid: BORDER,
        QPalette.ColorRole.Dark: QColor("#a3aab4"),
        QPalette.ColorRole.Shadow: QColor("#6b7380"),
    }
    for role, color in roles.items():
        pal.setColor(role, color)
    disabled = QColor("#9aa1ab")
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        pal.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    pal.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Highlight, QColor("#b8c2d2"))
    return pal


def apply(app: QApplication) -> None:
    """Fusion with the palette and the style sheet above, for the whole application."""
    app.setStyle("Fusion")
    app.setPalette(palette())
    app.setStyleSheet(STYLESHEET)


# --- readable text ------------------------------------------------------------------------------------------
def luminance(color: QColor) -> float:
    """WCAG 2 relative luminance of an opaque colour."""

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(color.redF()) + 0.7152 * linear(color.greenF()) + 0.0722 * linear(color.blueF())


def contrast_ratio(a: QColor, b: QColor) -> float:
    """WCAG 2 contrast ratio of two colours, 1 to 21 (body text wants at least 4.5)."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def help_label(text: str) -> QLabel:
    """A block of explanation (a stage's description): dark text on a light card of its own, whatever the
    palette around it, wrapped, selectable."""
    label = QLabel(text)
    label.setObjectName("help")
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setMargin(8)
    label.setAutoFillBackground(True)
    pal = label.palette()
    for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
        pal.setColor(group, QPalette.ColorRole.WindowText, HELP_TEXT)
        pal.setColor(group, QPalette.ColorRole.Window, HELP_BACKGROUND)
    label.setPalette(pal)
    return label


# --- icons --------------------------------------------------------------------------------------------------
#: the canvas every icon is drawn on; QIcon scales the pixmaps made from it to the size asked for
GRID = 32.0
STROKE = 2.6


def _pen(painter: QPainter, color: QColor, width: float = STROKE) -> None:
    pen = QPen(color, width)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    painter.setPen(pen)
    painter.setBrush(Qt.BrushStyle.NoBrush)


def _fill(painter: QPainter, color: QColor) -> None:
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QBrush(color))


def _triangle(painter: QPainter, x: float, y: float, w: float, h: float) -> None:
    path = QPainterPath()
    path.addPolygon(QPolygonF([QPointF(x, y), QPointF(x + w, y + h / 2), QPointF(x, y + h), QPointF(x, y)]))
    painter.drawPath(path)


def _play(p: QPainter, c: QColor) -> None:
    _fill(p, c)
    _triangle(p, 10, 7, 15, 18)


def _pause(p: QPainter, c: QColor) -> None:
    _fill(p, c)
    p.drawRoundedRect(QRectF(9, 7, 5, 18), 1.5, 1.5)
    p.drawRoundedRect(QRectF(18, 7, 5, 18), 1.5, 1.5)


def _step(p: QPainter, c: QColor) -> None:
    _fill(p, c)
    _triangle(p, 8, 8, 12, 16)
    p.drawRoundedRect(QRectF(21, 8, 4, 16), 1.5, 1.5)


def _record(p: QPainter, _c: QColor) -> None:
    _fill(p, RECORD)
    p.drawEllipse(QRectF(8, 8, 16, 16))


def _stop(p: QPainter, _c: QColor) -> None:
    _fill(p, RECORD)
    p.drawRoundedRect(QRectF(9, 9, 14, 14), 2.5, 2.5)


def _snapshot(p: QPainter, c: QColor) -> None:
    _pen(p, c)
    body = QPainterPath()
    body.addRoundedRect(QRectF(5, 10, 22, 15), 3, 3)
    p.drawPath(body)
    p.drawLine(QPointF(12, 10), QPointF(14, 7))
    p.drawLine(QPointF(14, 7), QPointF(18, 7))
    p.drawLine(QPointF(18, 7), QPointF(20, 10))
    p.drawEllipse(QPointF(16, 17.5), 4, 4)


def _dataset(p: QPainter, c: QColor) -> None:
    _pen(p, c)
    p.drawRoundedRect(QRectF(5, 9, 16, 16), 2.5, 2.5)  # a frame
    p.drawLine(QPointF(9, 6), QPointF(22, 6))  # the frames behind it
    p.drawLine(QPointF(24, 6), QPointF(24, 14))
    p.drawLine(QPointF(13, 13), QPointF(13, 21))  # plus
    p.drawLine(QPointF(9, 17), QPointF(17, 17))


def _add(p: QPainter, c: QColor) -> None:
    _pen(p, c, 3.0)
    p.drawLine(QPointF(16, 7), QPointF(16, 25))
    p.drawLine(QPointF(7, 16), QPointF(25, 16))


def _duplicate(p: QPainter, c: QColor) -> None:
    _pen(p, c)
    p.drawRoundedRect(QRectF(11, 11, 14, 14), 2.5, 2.5)
    p.drawLine(QPointF(7, 20), QPointF(7, 9))
    p.drawLine(QPointF(7, 9), QPointF(8, 7))
    p.drawLine(QPointF(9, 7), QPointF(20, 7))


def _remove(p: QPainter, c: QColor) -> None:
    _pen(p, c)
    p.drawLine(QPointF(7, 10), QPointF(25, 10))  # lid
    p.drawLine(QPointF(13, 10), QPointF(13.5, 7))
    p.drawLine(QPointF(13.5, 7), QPointF(18.5, 7))
    p.drawLine(QPointF(18.5, 7), QPointF(19, 10))
    bin_ = QPainterPath(QPointF(9.5, 10))
    bin_.lineTo(11, 25)
    bin_.lineTo(21, 25)
    bin_.lineTo(22.5, 10)
    p.drawPath(bin_)


def _refresh(p: QPainter, c: QColor) -> None:
    _pen(p, c)
    p.drawArc(QRectF(8, 8, 16, 16), 100 * 16, 280 * 16)
    _fill(p, c)
    p.drawPolygon(QPolygonF([QPointF(13, 4), QPointF(19.5, 8.2), QPointF(13, 12.5)]))


def _file(p: QPainter, c: QColor) -> None:
    _pen(p, c)
    page = QPainterPath(QPointF(9, 5))
    page.lineTo(19, 5)
    page.lineTo(24, 10)
    page.lineTo(24, 27)
    page.lineTo(9, 27)
    page.closeSubpath()
    p.drawPath(page)
    _fill(p, c)
    _triangle(p, 14, 13, 7, 9)  # a video file


def _folder(p: QPainter, c: QColor) -> None:
    _pen(p, c)
    shape = QPainterPath(QPointF(5, 9))
    shape.lineTo(12, 9)
    shape.lineTo(14.5, 12)
    shape.lineTo(27, 12)
    shape.lineTo(27, 25)
    shape.lineTo(5, 25)
    shape.closeSubpath()
    p.drawPath(shape)


def _stream(p: QPainter, c: QColor) -> None:
    _pen(p, c)
    p.drawEllipse(QPointF(16, 16), 10.5, 10.5)
    p.drawLine(QPointF(10, 16), QPointF(22, 16))
    p.drawLine(QPointF(17.5, 11.5), QPointF(22, 16))
    p.drawLine(QPointF(17.5, 20.5), QPointF(22, 16))


def _pattern(p: QPainter, _c: QColor) -> None:
    for i, color in enumerate(("#d8d8d8", "#e3c84a", "#4bb7c9", "#5cb85c", "#c65fc4", "#d8453b")):
        _fill(p, QColor(color))
        p.drawRect(QRectF(5 + i * 3.7, 7, 3.7, 18))
    _pen(p, ICON, 1.4)
    p.drawRect(QRectF(5, 7, 22.2, 18))


def _camera(p: QPainter, c: QColor) -> None:
    _pen(p, c)
    p.drawRoundedRect(QRectF(4, 9, 17, 14), 3, 3)
    lens = QPainterPath(QPointF(21, 14))
    lens.lineTo(28, 10)
    lens.lineTo(28, 22)
    lens.lineTo(21, 18)
    p.drawPath(lens)


def _browse(p: QPainter, c: QColor) -> None:
    _fill(p, c)
    for x in (9, 16, 23):
        p.drawEllipse(QPointF(x, 17), 2.2, 2.2)


DRAWINGS: dict[str, Callable[[QPainter, QColor], None]] = {
    "play": _play,
    "pause": _pause,
    "step": _step,
    "record": _record,
    "stop": _stop,
    "snapshot": _snapshot,
    "dataset": _dataset,
    "add": _add,
    "duplicate": _duplicate,
    "remove": _remove,
    "refresh": _refresh,
    "file": _file,
    "folder": _folder,
    "stream": _stream,
    "pattern": _pattern,
    "camera": _camera,
    "browse": _browse,
}
_cache: dict[tuple[str, str], QIcon] = {}


def pixmap(name: str, size: int, color: QColor = ICON) -> QPixmap:
    """The icon ``name`` drawn at ``size`` pixels."""
    image = QPixmap(size, size)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.scale(size / GRID, size / GRID)
    DRAWINGS[name](painter, color)
    painter.end()
    return image


def icon(name: str, checked: str | None = None) -> QIcon:
    """A drawn icon by name (see ``DRAWINGS``); ``checked``: the one a checkable button shows when on."""
    key = (name, checked or "")
    if key not in _cache:
        made = QIcon()
        for size in (16, 20, 24, 32, 48):
            made.addPixmap(pixmap(name, size), QIcon.Mode.Normal, QIcon.State.Off)
            if checked:
                made.addPixmap(pixmap(checked, size), QIcon.Mode.Normal, QIcon.State.On)
        _cache[key] = made
    return _cache[key]
