"""Dataset > Train… needs the train extra: without it the action is greyed out and says why, with the pip command;
with it (this dev install) it opens the training dialog as before."""

import sys

import pytest


def dataset_menu(win):
    return next(a.menu() for a in win.menuBar().actions() if a.text() == "&Dataset")


def test_train_is_greyed_out_with_the_reason_when_the_extra_is_missing(make_window, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # as Python marks a module that cannot be imported
    monkeypatch.setitem(sys.modules, "ultralytics", None)
    win = make_window()
    train = win.actions_.train
    assert not train.isEnabled()
    why = (
        "Training needs the train extra (PyTorch and ultralytics; not installed: torch, ultralytics): "
        'pip install "vidcv[train]"'
    )
    assert train.toolTip() == why and train.statusTip() == why
    menu = dataset_menu(win)
    assert train in menu.actions() and menu.toolTipsVisible()
    train.trigger()  # a disabled action does nothing
    assert win.datasets.train_dialog is None


@pytest.mark.timeout(60)
def test_train_opens_the_dialog_when_the_extra_is_installed(make_window):
    win = make_window()
    assert win.actions_.train.isEnabled()
    win.actions_.train.trigger()
    assert win.datasets.train_dialog is not None and win.datasets.train_dialog.isVisible()
    win.datasets.train_dialog.close()
