"""cnnlab.report.html: the tables of the report."""


def test_report_table_columns_share_one_format():
    from cnnlab.report.html import table
    html = table(["seconds", "loss"], [[55.4, 0.5], [9.069, 0.25]])
    assert "<td>55.40</td>" in html and "<td>9.07</td>" in html and "<td>0.2500</td>" in html
