"""The window's look (issue 24 item 10): what a screenshot showed wrong, measured. The help text under a stage's
parameters is readable (contrast 4.5:1 or more, WCAG's figure for body text), About's and the shortcuts'
second column is one edge, the URL field's placeholder fits it, the transport and pipeline buttons carry
icons, and the video's backdrop is the dark one the style names."""

import pytest
from PySide6.QtCore import QPoint
from PySide6.QtGui import QColor, QIcon, QPalette
from PySide6.QtWidgets import QApplication, QStyle, QStyleOptionFrame

from vidcv.registry import Registry
from vidcv.ui import help as help_module
from vidcv.ui import style
from vidcv.ui.param_editor import ParamEditor
from vidcv.ui.transport import IconButton, Transport
from vidcv.ui.video_view import VideoView

PLUGINS = Registry()


def colors(widget, background_role=None):
    pal = widget.palette()
    return pal.color(widget.foregroundRole()), pal.color(background_role or widget.backgroundRole())


def test_contrast_ratio_is_wcag_s():
    assert style.contrast_ratio(QColor("black"), QColor("white")) == pytest.approx(21.0)
    assert style.contrast_ratio(QColor("#777777"), QColor("white")) == pytest.approx(4.48, abs=0.01)
    assert style.contrast_ratio(QColor("white"), QColor("white")) == 1.0


@pytest.mark.parametrize("name", ["yolo", "count", "annotate", "canny"])
def test_the_help_text_is_readable(qtbot, name):
    editor = ParamEditor(PLUGINS.create(name))
    qtbot.addWidget(editor)
    editor.show()
    help_text = editor.help
    assert help_text.text() == PLUGINS.create(name).to_dict()["summary"]
    assert help_text.autoFillBackground()  # its own background is the one drawn behind it
    foreground, background = colors(help_text)
    assert style.contrast_ratio(foreground, background) >= 4.5  # was palette(mid) on the window: about 1.7
    for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
        pal = help_text.palette()
        ratio = style.contrast_ratio(
            pal.color(group, QPalette.ColorRole.WindowText), pal.color(group, QPalette.ColorRole.Window)
        )
        assert ratio >= 4.5


def test_the_palette_s_text_is_readable():
    pal = style.palette()
    role = QPalette.ColorRole
    for text, background in (
        (role.WindowText, role.Window),
        (role.Text, role.Base),
        (role.ButtonText, role.Button),
        (role.PlaceholderText, role.Base),
        (role.HighlightedText, role.Highlight),
        (role.ToolTipText, role.ToolTipBase),
    ):
        assert style.contrast_ratio(pal.color(text), pal.color(background)) >= 4.5, (text, background)
    assert style.contrast_ratio(style.MUTED, style.WINDOW) >= 4.5  # the group boxes' titles
    assert style.contrast_ratio(style.HELP_TEXT, style.HELP_BACKGROUND) >= 4.5
    for words in (style.ERROR, style.WARNING):  # a source's error, a stage's badge, a model that does not load
        assert min(style.contrast_ratio(words, style.WINDOW), style.contrast_ratio(words, style.BASE)) >= 4.5


def test_the_style_applies_to_the_application(qapp):
    before = QApplication.palette(), qapp.styleSheet(), qapp.style().name()
    try:
        style.apply(qapp)
        assert QApplication.palette().color(QPalette.ColorRole.Window) == style.WINDOW
        assert "QDockWidget::title" in qapp.styleSheet()
    finally:
        QApplication.setPalette(before[0])
        qapp.setStyleSheet(before[1])
        if before[2]:
            qapp.setStyle(before[2])


def test_about_aligns_its_second_column_and_lists_a_provider_a_line(monkeypatch):
    monkeypatch.setattr(
        help_module,
        "runtime_versions",
        lambda: [("vidcv", "1.0"), ("providers", "TENSORRT (libraries missing: see vidcv doctor)\nCUDA\nCPU")],
    )
    about = help_module.about_html()
    assert "&nbsp;" not in about  # leading spaces indent a cell's first line only: the wrapped ones stood apart
    assert about.count("<td") == 4 and "padding" in about
    assert "see vidcv doctor)</span><br><span" in about and ">CUDA</span><br><span" in about


def test_the_shortcuts_align_their_second_column(window):
    from PySide6.QtWidgets import QMenu

    menus = [menu for a in window.menuBar().actions() if isinstance(menu := a.menu(), QMenu)]
    text = help_module.shortcuts_html(menus)
    assert "&nbsp;" not in text and "Ctrl+O" in text and "Drag on the video" in text


def test_the_url_placeholder_fits_its_field(window):
    window.resize(1280, 800)
    url = window.source_panel.url
    qapp = QApplication.instance()
    qapp.processEvents()
    option = QStyleOptionFrame()
    url.initStyleOption(option)
    contents = url.style().subElementRect(QStyle.SubElement.SE_LineEditContents, option, url)
    margins = url.textMargins()
    room = contents.width() - margins.left() - margins.right() - 4  # QLineEdit's own 2 px each side
    assert url.fontMetrics().horizontalAdvance(url.placeholderText()) <= room, (url.placeholderText(), room)


def test_the_transport_and_pipeline_buttons_carry_icons(qtbot, window):
    transport = window.transport
    for button in (
        transport.play_button,
        transport.step_button,
        transport.record_button,
        transport.snapshot_button,
        transport.dataset_button,
        window.pipeline_panel.add_button,
        window.pipeline_panel.duplicate_button,
        window.pipeline_panel.remove_button,
    ):
        assert not button.icon().isNull(), button.text()
        assert button.toolTip()
    record = transport.record_button.icon()
    on = record.pixmap(16, 16, QIcon.Mode.Normal, QIcon.State.On).toImage()
    off = record.pixmap(16, 16, QIcon.Mode.Normal, QIcon.State.Off).toImage()
    assert on != off  # a stop square while recording, the red dot otherwise
    playing = transport.play_button.icon().pixmap(16, 16).toImage()
    transport.update_position(5, paused=True, live=False)
    assert transport.play_button.text() == "Play"
    assert transport.play_button.icon().pixmap(16, 16).toImage() != playing


def test_a_glyph_the_icon_stands_for_is_not_drawn_twice(qtbot):
    transport = Transport()
    qtbot.addWidget(transport)
    button = transport.record_button
    assert isinstance(button, IconButton) and button.text() == "● Record"
    assert button.shown_text() == "Record"
    button.setText("■ Stop")
    assert button.shown_text() == "Stop"
    widths = {button.sizeHint().width()}
    button.setText("● Record")
    assert widths == {button.sizeHint().width()}  # Record and Stop take the same room
    play = transport.play_button
    assert play.text() == "Pause" and play.shown_text() == "" and play.sizeHint().width() < 48  # the icon alone


def test_every_icon_draws_something():
    for name in style.DRAWINGS:
        image = style.pixmap(name, 24).toImage()
        assert any(image.pixelColor(x, y).alpha() for x in range(24) for y in range(24)), name


def test_the_video_backdrop_is_dark_and_says_what_to_do_before_a_frame(qtbot):
    view = VideoView()
    qtbot.addWidget(view)
    view.resize(640, 360)
    view.show()
    shot = view.grab().toImage()
    assert shot.pixelColor(QPoint(2, 2)) == style.VIDEO_BACKGROUND
    assert style.luminance(style.VIDEO_BACKGROUND) < 0.02
    hint_pixels = {shot.pixelColor(QPoint(x, 180)).name() for x in range(0, 640, 2)}
    assert len(hint_pixels) > 1  # the words in the middle
    assert style.contrast_ratio(style.VIDEO_HINT, style.VIDEO_BACKGROUND) >= 4.5
