"""The dataset view's filmstrip: a thumbnail per frame in a horizontal strip, with its review status as a
badge (unreviewed grey dot, reviewed green check, rejected red cross) and its name.

Thumbnails are read when a row is first painted (only what is on screen) and kept in a bounded cache, so a
dataset of thousands of frames opens at once.
"""

from __future__ import annotations

from collections import OrderedDict

import cv2
from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, QPointF, QRect, QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QAbstractItemView, QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from vidcv.dataset.editor import REJECTED, REVIEWED, FrameRef
from vidcv.ui.video_view import to_qimage

THUMB_W, THUMB_H = 112, 84
CELL_W, CELL_H = THUMB_W + 10, THUMB_H + 26
CACHE = 600  #: thumbnails kept in memory
#: the badge colour of each review status (unreviewed: grey)
STATUS_COLORS = {REVIEWED: QColor(46, 160, 67), REJECTED: QColor(218, 54, 51)}
UNREVIEWED_COLOR = QColor(140, 140, 140)
FrameRole = Qt.ItemDataRole.UserRole + 1


def status_color(status: str) -> QColor:
    return STATUS_COLORS.get(status, UNREVIEWED_COLOR)


def paint_badge(painter: QPainter, centre: QPointF, radius: float, status: str) -> None:
    """A status badge: a disc of the status colour with a check (reviewed), a cross (rejected) or a dot."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(QColor(255, 255, 255), 1.5))
    painter.setBrush(QBrush(status_color(status)))
    painter.drawEllipse(centre, radius, radius)
    pen = QPen(QColor(255, 255, 255), max(1.5, radius / 4))
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    painter.setPen(pen)
    r = radius * 0.45
    x, y = centre.x(), centre.y()
    if status == REVIEWED:
        path = QPainterPath(QPointF(x - r, y))
        path.lineTo(QPointF(x - r * 0.25, y + r * 0.75))
        path.lineTo(QPointF(x + r, y - r * 0.7))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(path)
    elif status == REJECTED:
        painter.drawLine(QPointF(x - r, y - r), QPointF(x + r, y + r))
        painter.drawLine(QPointF(x - r, y + r), QPointF(x + r, y - r))
    else:
        painter.setBrush(QBrush(QColor(255, 255, 255)))
        painter.drawEllipse(centre, r * 0.45, r * 0.45)
    painter.restore()


def read_thumbnail(path: str) -> QImage:
    """The image at ``path`` shrunk to fit a thumbnail (a null image when it cannot be read)."""
    image = cv2.imread(path, cv2.IMREAD_REDUCED_COLOR_2)
    if image is None:
        return QImage()
    h, w = image.shape[:2]
    scale = min(THUMB_W / w, THUMB_H / h)
    small = cv2.resize(image, (max(1, int(w * scale)), max(1, int(h * scale))), interpolation=cv2.INTER_AREA)
    return to_qimage(small).copy()  # its own pixels: ``small`` goes away


class FilmstripModel(QAbstractListModel):
    """The frames shown, in order; a frame's thumbnail is read when first asked for."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.frames: list[FrameRef] = []
        self._thumbs: OrderedDict[str, QImage] = OrderedDict()

    def set_frames(self, frames: list[FrameRef]) -> bool:
        """Show ``frames``; False (and nothing redone) when they are the frames already shown."""
        if len(frames) == len(self.frames) and all(a is b for a, b in zip(frames, self.frames)):
            return False
        self.beginResetModel()
        self.frames = list(frames)
        self.endResetModel()
        return True

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.frames)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self.frames):
            return None
        frame = self.frames[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return frame.name
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{frame.name} ({frame.split}, {frame.status})"
        if role == FrameRole:
            return frame
        return None

    def thumbnail(self, frame: FrameRef) -> QImage:
        thumb = self._thumbs.get(frame.image)
        if thumb is None:
            thumb = self._thumbs[frame.image] = read_thumbnail(frame.image)
            while len(self._thumbs) > CACHE:
                self._thumbs.popitem(last=False)
        else:
            self._thumbs.move_to_end(frame.image)
        return thumb

    def row_of(self, frame: FrameRef | None) -> int:
        return next((i for i, f in enumerate(self.frames) if f is frame), -1)

    def refresh(self) -> None:
        """Statuses changed: repaint every row."""
        if self.frames:
            self.dataChanged.emit(self.index(0), self.index(len(self.frames) - 1))


class FilmstripDelegate(QStyledItemDelegate):
    """Paints a frame: its thumbnail, its status badge top right, its name below."""

    def __init__(self, model: FilmstripModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        return QSize(CELL_W, CELL_H)

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        frame = index.data(FrameRole)
        if not isinstance(frame, FrameRef):
            return
        rect = QRect(option.rect)
        painter.save()
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected:
            painter.fillRect(rect, option.palette.highlight())
        thumb_area = QRect(rect.x() + 5, rect.y() + 4, THUMB_W, THUMB_H)
        painter.fillRect(thumb_area, QColor(30, 30, 30))
        thumb = self.model.thumbnail(frame)
        if not thumb.isNull():
            x = thumb_area.x() + (THUMB_W - thumb.width()) // 2
            y = thumb_area.y() + (THUMB_H - thumb.height()) // 2
            painter.drawImage(x, y, thumb)
        if frame.status == REJECTED:
            painter.fillRect(thumb_area, QColor(0, 0, 0, 110))
        paint_badge(painter, QPointF(thumb_area.right() - 10, thumb_area.top() + 11), 8.5, frame.status)
        text_rect = QRect(
            rect.x() + 3, thumb_area.bottom() + 3, rect.width() - 6, rect.bottom() - thumb_area.bottom() - 4
        )
        color = option.palette.highlightedText() if selected else option.palette.text()
        painter.setPen(QPen(color.color()))
        metrics = painter.fontMetrics()
        name = metrics.elidedText(frame.name, Qt.TextElideMode.ElideMiddle, text_rect.width())
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, name)
        painter.restore()


class Filmstrip(QListView):
    """A horizontal strip of frames. ``frame_chosen(frame)`` when the user picks one."""

    frame_chosen = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.strip = FilmstripModel(self)
        self.setModel(self.strip)
        self.setItemDelegate(FilmstripDelegate(self.strip, self))
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(False)
        self.setUniformItemSizes(True)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the keys belong to the canvas
        self.setFixedHeight(CELL_H + self.horizontalScrollBar().sizeHint().height() + 6)
        self.clicked.connect(self._clicked)

    def set_frames(self, frames: list[FrameRef], current: FrameRef | None) -> None:
        self.strip.set_frames(frames)
        self.show_current(current)

    def show_current(self, current: FrameRef | None) -> None:
        row = self.strip.row_of(current)
        if row < 0:
            self.clearSelection()
            return
        index = self.strip.index(row)
        self.setCurrentIndex(index)
        self.scrollTo(index, QAbstractItemView.ScrollHint.EnsureVisible)

    def _clicked(self, index: QModelIndex) -> None:
        frame = index.data(FrameRole)
        if isinstance(frame, FrameRef):
            self.frame_chosen.emit(frame)
