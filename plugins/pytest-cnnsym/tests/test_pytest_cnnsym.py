"""pytest-cnnsym, installed: the marker passes within budget and fails with a readable
message over it; the fixture returns the Report."""
import textwrap

import pytest

pytest_plugins = ["pytester"]

MODEL = textwrap.dedent("""
    import torch.nn as nn
    import torch.nn.functional as F

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 6, 5)
            self.pool = nn.MaxPool2d(2, 2)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, x):
            x = self.pool(F.relu(self.conv1(x)))
            x = self.pool(F.relu(self.conv2(x)))
            x = x.flatten(1)
            return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))
""")


@pytest.fixture
def project(pytester):
    pytester.makefile(".py", net=MODEL)
    pytester.makeini("[pytest]\n")
    return pytester


def test_within_budget_passes(project):
    project.makepyfile(test_budget="""
        import pytest

        @pytest.mark.cnnsym_budget("net.py::Net", input="1x3x32x32", max_params="100k", max_macs="1M")
        def test_net():
            pass
    """)
    r = project.runpytest_subprocess("-p", "no:cacheprovider")
    r.assert_outcomes(passed=1)


def test_over_budget_fails_readably(project):
    project.makepyfile(test_budget="""
        import pytest

        @pytest.mark.cnnsym_budget("net.py::Net", input="1x3x32x32", max_params="50k", max_macs="600k")
        def test_net():
            pass
    """)
    r = project.runpytest_subprocess("-p", "no:cacheprovider")
    r.assert_outcomes(failed=1)
    out = r.stdout.str()
    assert "cnnsym budget exceeded: net.py::Net at" in out
    assert "params (total): 62.0K (62,006) > max_params=50k" in out
    assert "over by 24.0%" in out
    assert "MACs: 652K (651,720) > max_macs=600k" in out
    assert "formula:" in out
    assert "Traceback" not in out and "def pytest_runtest_call" not in out


def test_for_all_worst_case(project):
    project.makepyfile(test_budget="""
        import pytest

        @pytest.mark.cnnsym_budget("net.py::Net", input="1x3xHxW", max_macs="700k", for_all="H,W in 32..35")
        def test_net():
            pass
    """)
    r = project.runpytest_subprocess("-p", "no:cacheprovider")
    r.assert_outcomes(failed=1)
    out = r.stdout.str()
    assert "over H,W in 32..35" in out and "at H=35, W=35" in out


def test_fixture(project):
    project.makepyfile(test_fixture="""
        import pytest

        def test_report(cnnsym_report):
            rep = cnnsym_report("net.py::Net", input="1x3x32x32")
            assert rep.values["params.trainable"] == 62006
            assert rep.values["macs"] == 651720

        @pytest.mark.cnnsym_budget("net.py::Net", input="1x3x32x32", max_params="1M")
        def test_from_marker(cnnsym_report):
            assert cnnsym_report().values["params.total"] == 62006
    """)
    r = project.runpytest_subprocess("-p", "no:cacheprovider")
    r.assert_outcomes(passed=2)


def test_bad_marker_is_a_clear_failure(project):
    project.makepyfile(test_bad="""
        import pytest

        @pytest.mark.cnnsym_budget("net.py::Net", max_parms="1M")
        def test_net():
            pass
    """)
    r = project.runpytest_subprocess("-p", "no:cacheprovider")
    r.assert_outcomes(failed=1)
    assert "unknown keyword max_parms" in r.stdout.str()
